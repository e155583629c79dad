/**
 * `completion bash|zsh|fish`: completion scripts generated from the command table — verbs,
 * subverbs (nested ones too: `admin users …`), flags and their values, and tunnel, route, user
 * and team names asked from the control plane (`tunnelctl list -o name`, `tunnelctl route list
 * TUNNEL -o name`, `tunnelctl admin users list -o name`, `tunnelctl admin teams list -o name`).
 */
import { ALL_FLAGS, type FlagSpec } from './args.js';
import { COMMANDS, GROUP_PATHS, SHELLS, childWords } from './commands.js';
import type { Ctx } from './context.js';
import { UsageError } from './errors.js';
import { FORMATS } from './output.js';

type Kind = 'verbs' | 'tunnel' | 'route' | 'shell' | 'group' | 'user' | 'team' | 'role';

interface Slot {
  /** Positional words so far, e.g. 2 for `tunnel get |`. */
  count: number;
  /** The words that must start the line. */
  prefix: string[];
  /** Whether more words (earlier arguments) follow the prefix. */
  more: boolean;
  kind: Kind;
}

/** The tunnelctl command that lists the names a kind completes with. */
const NAME_LISTS: Partial<Record<Kind, string>> = {
  tunnel: 'list -o name',
  user: 'admin users list -o name',
  team: 'admin teams list -o name',
};

/** Fixed words a kind completes with. */
const fixedWords = (s: Slot): string[] | null =>
  s.kind === 'group'
    ? childWords(s.prefix).map((w) => w.word)
    : s.kind === 'shell'
      ? [...SHELLS]
      : s.kind === 'role'
        ? ['admin', 'user']
        : null;

/** The values a flag completes with: -o's formats, or the flag's own choices. */
const flagChoices = (f: FlagSpec): string[] | null => (f.name === 'output' ? FORMATS : (f.choices ?? null));
const withChoices = () => ALL_FLAGS.filter((f) => flagChoices(f) !== null);
const flagNames = (f: FlagSpec) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])];
/** Value flags whose value is free text: nothing to complete. */
const freeValueFlags = () =>
  valueFlags()
    .filter((f) => flagChoices(f) === null)
    .flatMap(flagNames);

const topVerbs = () => [...new Set(COMMANDS.map((c) => c.path[0] as string))];
const valueFlags = () => ALL_FLAGS.filter((f) => f.value !== undefined);
const flagWords = () =>
  ALL_FLAGS.flatMap((f) => [
    `--${f.name}`,
    ...(f.negatable ? [`--no-${f.name}`] : []),
    ...(f.short ? [`-${f.short}`] : []),
  ]);

/** Where on the line each kind of word completes. */
function slots(): Slot[] {
  const out: Slot[] = [{ count: 0, prefix: [], more: false, kind: 'verbs' }];
  for (const g of GROUP_PATHS) out.push({ count: g.length, prefix: g, more: false, kind: 'group' });
  for (const c of COMMANDS) {
    c.params.forEach((p, i) => {
      if (!p.completes) return;
      const kind: Kind = p.completes === 'command' ? 'verbs' : p.completes;
      out.push({ count: c.path.length + i, prefix: c.path, more: i > 0, kind });
    });
  }
  return out;
}

const summaryOf = (verb: string) => childWords([]).find((w) => w.word === verb)?.summary ?? verb;

/** A shell case pattern for a slot: `2:tunnel get` or `3:route delete *`. */
const pattern = (s: Slot) => `${s.count}:${s.prefix.join(' ')}${s.more ? ' ' : ''}`;

function bash(): string {
  const vf = valueFlags().flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
  const cases = slots().map((s) => {
    const pat = `"${pattern(s)}"${s.more ? '*' : ''}`;
    const fixed = fixedWords(s);
    const list = NAME_LISTS[s.kind];
    const words =
      s.kind === 'verbs'
        ? '"$verbs"'
        : fixed
          ? `"${fixed.join(' ')}"`
          : list
            ? `"$(tunnelctl ${list} 2>/dev/null)"`
            : `"$(tunnelctl route list "\${pos[${s.count - 1}]}" -o name 2>/dev/null)"`;
    return `    ${pat}) words=${words} ;;`;
  });
  const choiceCases = withChoices().map(
    (f) =>
      `    ${flagNames(f).join('|')}) COMPREPLY=($(compgen -W "${(flagChoices(f) as string[]).join(' ')}" -- "$cur")); return 0 ;;`,
  );
  return `# bash completion for tunnelctl
# Load it with:  source <(tunnelctl completion bash)
# or save it as /etc/bash_completion.d/tunnelctl.
_tunnelctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local verbs="${topVerbs().join(' ')}"
  local flags="${flagWords().join(' ')}"
  local words=""
  COMPREPLY=()
  case "$prev" in
${choiceCases.join('\n')}
    ${freeValueFlags().join('|')}) return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return 0
  fi
  local -a pos=()
  local i w skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${vf.join('|')}) skip=1 ;;
      -*) ;;
      *) pos+=("$w") ;;
    esac
  done
  case "\${#pos[@]}:\${pos[*]}" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  return 0
}
complete -F _tunnelctl tunnelctl
`;
}

function zsh(): string {
  const vf = valueFlags().flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
  const verbs = topVerbs().map(
    (v) => `    '${v}:${summaryOf(v).replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`,
  );
  const cases = slots().map((s) => {
    const pat = `"${pattern(s)}"${s.more ? '*' : ''}`;
    const fixed = fixedWords(s);
    const list = NAME_LISTS[s.kind];
    const action =
      s.kind === 'verbs'
        ? "_describe 'command' verbs"
        : fixed
          ? `compadd -- ${fixed.join(' ')}`
          : list
            ? `compadd -- \${(f)"$(tunnelctl ${list} 2>/dev/null)"}`
            : `compadd -- \${(f)"$(tunnelctl route list \${pos[${s.count}]} -o name 2>/dev/null)"}`;
    return `    ${pat}) ${action} ;;`;
  });
  const choiceCases = withChoices().map(
    (f) => `    ${flagNames(f).join('|')}) compadd -- ${(flagChoices(f) as string[]).join(' ')}; return ;;`,
  );
  return `#compdef tunnelctl
# zsh completion for tunnelctl
# Load it with:  source <(tunnelctl completion zsh)
# or save it as _tunnelctl in a directory of $fpath.
compdef _tunnelctl tunnelctl

_tunnelctl() {
  local -a verbs pos
  verbs=(
${verbs.join('\n')}
  )
  local i w skip=0 cur=\${words[CURRENT]} prev=\${words[CURRENT-1]}
  case $prev in
${choiceCases.join('\n')}
    ${freeValueFlags().join('|')}) return ;;
  esac
  if [[ $cur == -* ]]; then
    compadd -- ${flagWords().join(' ')}
    return
  fi
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      ${vf.join('|')}) skip=1 ;;
      -*) ;;
      *) pos+=("$w") ;;
    esac
  done
  case "\${#pos}:\${pos[*]}" in
${cases.join('\n')}
  esac
}

if [ "$funcstack[1]" = "_tunnelctl" ]; then
  _tunnelctl "$@"
fi
`;
}

function fish(): string {
  const vf = valueFlags().flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
  const lines: string[] = [];
  for (const s of slots()) {
    const cond = `__tunnelctl_at '${pattern(s)}${s.more ? '*' : ''}'`;
    if (s.kind === 'verbs') {
      for (const v of topVerbs())
        lines.push(`complete -c tunnelctl -n "${cond}" -a ${v} -d '${summaryOf(v).replace(/'/g, "\\'")}'`);
    } else if (s.kind === 'group') {
      for (const w of childWords(s.prefix)) {
        lines.push(`complete -c tunnelctl -n "${cond}" -a ${w.word} -d '${w.summary.replace(/'/g, "\\'")}'`);
      }
    } else if (fixedWords(s)) {
      lines.push(`complete -c tunnelctl -n "${cond}" -a '${(fixedWords(s) as string[]).join(' ')}'`);
    } else if (NAME_LISTS[s.kind]) {
      lines.push(`complete -c tunnelctl -n "${cond}" -a '(tunnelctl ${NAME_LISTS[s.kind]} 2>/dev/null)'`);
    } else {
      lines.push(`complete -c tunnelctl -n "${cond}" -a '(__tunnelctl_routes ${s.count})'`);
    }
  }
  for (const f of ALL_FLAGS) {
    const short = f.short ? ` -s ${f.short}` : '';
    const choices = flagChoices(f);
    const values = choices ? ` -x -a '${choices.join(' ')}'` : f.value ? ' -r' : '';
    lines.push(`complete -c tunnelctl -l ${f.name}${short}${values} -d '${f.help.replace(/'/g, "\\'")}'`);
    if (f.negatable) lines.push(`complete -c tunnelctl -l no-${f.name} -d 'do not ${f.name}'`);
  }
  return `# fish completion for tunnelctl
# Load it with:  tunnelctl completion fish | source
# or save it as ~/.config/fish/completions/tunnelctl.fish.

# The positional words typed so far (flags and their values skipped).
function __tunnelctl_pos
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case ${vf.join(' ')}
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

# True when "COUNT:WORDS" of the line matches the glob in $argv[1].
function __tunnelctl_at
    set -l pos (__tunnelctl_pos)
    string match -q -- $argv[1] (count $pos):(string join ' ' -- $pos)
end

# Route names of the tunnel at position $argv[1] (1-based).
function __tunnelctl_routes
    set -l pos (__tunnelctl_pos)
    tunnelctl route list $pos[$argv[1]] -o name 2>/dev/null
end

complete -c tunnelctl -f
${lines.join('\n')}
`;
}

export function completionScript(shell: string): string {
  switch (shell) {
    case 'bash':
      return bash();
    case 'zsh':
      return zsh();
    case 'fish':
      return fish();
    default:
      throw new UsageError(`Unknown shell ${JSON.stringify(shell)}: use bash, zsh or fish`, ['completion']);
  }
}

export async function completion(ctx: Ctx, shell: string): Promise<number> {
  ctx.out(completionScript(shell));
  return 0;
}
