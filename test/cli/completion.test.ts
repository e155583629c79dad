/**
 * Completion scripts (the bash one is loaded into a real bash and asked for completions, with
 * `tunnelctl` stubbed as a shell function) and per-command help.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { tempDir, tunnelctl } from './harness.js';

const VERBS = [
  'list',
  'create',
  'credentials',
  'config',
  'delete',
  'help',
  'tunnel',
  'route',
  'token',
  'run',
  'status',
  'share',
  'whoami',
  'login',
  'logout',
  'passwd',
  'tokens',
  'events',
  'zones',
  'teams',
  'admin',
  'completion',
  'version',
];

async function script(shell: string): Promise<string> {
  const r = await tunnelctl(['completion', shell]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

describe('completion bash', () => {
  const STUB = `
tunnelctl() {
  case "$*" in
    "list -o name") printf 'alpha\\nbeta\\n' ;;
    "route list alpha -o name") printf 'web\\napi\\n' ;;
    "admin users list -o name") printf 'carol\\ndave\\n' ;;
    "admin teams list -o name") printf 'platform\\n' ;;
  esac
}`;

  /** What bash completes for the words typed so far (the last one being completed). */
  async function complete(...words: string[]): Promise<string[]> {
    const dir = tempDir();
    const file = join(dir, 'tunnelctl.bash');
    writeFileSync(file, (await script('bash')) + STUB);
    const array = ['tunnelctl', ...words].map((w) => `'${w}'`).join(' ');
    const out = execFileSync(
      'bash',
      [
        '-c',
        `source ${file}; COMP_WORDS=(${array}); COMP_CWORD=${words.length}; _tunnelctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    return out.split('\n').filter(Boolean);
  }

  it('is valid bash', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.bash'), await script('bash'));
    execFileSync('bash', ['-n', join(dir, 'c.bash')]);
  });

  it.each([
    [[''], VERBS],
    [['cr'], ['create', 'credentials']],
    [
      ['tunnel', ''],
      ['create', 'list', 'get', 'delete'],
    ],
    [
      ['route', ''],
      ['add', 'update', 'list', 'delete'],
    ],
    [
      ['completion', ''],
      ['bash', 'zsh', 'fish'],
    ],
    [
      ['credentials', ''],
      ['alpha', 'beta'],
    ],
    [['-o', 'json', 'config', 'a'], ['alpha']],
    [
      ['create', ''],
      ['alpha', 'beta'],
    ],
    [['create', 'alpha', ''], []],
    [
      ['tunnel', 'get', ''],
      ['alpha', 'beta'],
    ],
    [
      ['status', ''],
      ['alpha', 'beta'],
    ],
    [
      ['route', 'delete', 'alpha', ''],
      ['web', 'api'],
    ],
    [
      ['list', '-o', ''],
      ['table', 'json', 'yaml', 'name'],
    ],
    [
      ['tunnel', 'create', '--mode', ''],
      ['local', 'remote'],
    ],
    [['run', '--sh'], ['--show-token']],
    [
      ['admin', ''],
      ['users', 'teams', 'tunnels'],
    ],
    [
      ['admin', 'users', ''],
      ['list', 'show', 'create', 'disable', 'enable', 'remove', 'passwd', 'role', 'quotas', 'zones'],
    ],
    [
      ['admin', 'teams', ''],
      ['list', 'show', 'create', 'remove', 'add-member', 'remove-member', 'quotas', 'zones'],
    ],
    [
      ['tokens', ''],
      ['list', 'create', 'revoke'],
    ],
    [
      ['admin', 'users', 'show', ''],
      ['carol', 'dave'],
    ],
    [['admin', 'teams', 'add-member', ''], ['platform']],
    [
      ['admin', 'teams', 'add-member', 'platform', ''],
      ['carol', 'dave'],
    ],
    [
      ['admin', 'users', 'role', 'carol', ''],
      ['admin', 'user'],
    ],
    [
      ['tokens', 'create', 'ci', '--scope', ''],
      ['read', 'write', 'admin'],
    ],
    [
      ['admin', 'users', 'create', 'x', '--role', ''],
      ['admin', 'user'],
    ],
    [['login', '--ss'], ['--sso']],
    [['--no-w'], ['--no-wait']],
  ])('%j', async (words, expected) => {
    expect(await complete(...words)).toEqual(expected);
  });
});

describe('completion zsh and fish', () => {
  it('zsh: a #compdef function with every verb, subverb and flag', async () => {
    const s = await script('zsh');
    expect(s.startsWith('#compdef tunnelctl\n')).toBe(true);
    expect(s).toContain('compdef _tunnelctl tunnelctl');
    for (const v of VERBS) expect(s).toMatch(new RegExp(`'${v}:`));
    expect(s).toContain('"1:tunnel") compadd -- create list get delete');
    expect(s).toContain('"1:route") compadd -- add update list delete');
    expect(s).toContain('tunnelctl list -o name');
    expect(s).toContain('tunnelctl route list ${pos[3]} -o name');
    expect(s).toContain('--show-token');
  });

  it('fish: complete lines for every verb, subverb and flag', async () => {
    const s = await script('fish');
    expect(s).toContain('complete -c tunnelctl -f');
    for (const v of VERBS) expect(s).toContain(`complete -c tunnelctl -n "__tunnelctl_at '0:'" -a ${v} -d `);
    for (const sub of ['create', 'list', 'get', 'delete']) {
      expect(s).toContain(`complete -c tunnelctl -n "__tunnelctl_at '1:tunnel'" -a ${sub} -d `);
    }
    expect(s).toContain(
      `complete -c tunnelctl -n "__tunnelctl_at '3:route delete *'" -a '(__tunnelctl_routes 3)'`,
    );
    expect(s).toContain("complete -c tunnelctl -l output -s o -x -a 'table json yaml name'");
    expect(s).toContain("complete -c tunnelctl -l mode -x -a 'local remote'");
  });
});

describe('help for one command', () => {
  it.each(COMMANDS.map((c) => [c.path.join(' ')]))('tunnelctl help %s', async (words) => {
    const r = await tunnelctl(['help', ...words.split(' ')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: tunnelctl ${words}`));
    expect(r.stdout).toContain('Global flags:');
  });

  it('--help after a command shows that command', async () => {
    const r = await tunnelctl(['route', 'add', '--help']);
    expect(r.stdout).toMatch(/^Usage: tunnelctl route add TUNNEL SERVICE \[--name LABEL\]/);
    expect(r.stdout).toContain('--name NAME');
  });

  it('help for a group lists its subcommands', async () => {
    const r = await tunnelctl(['help', 'tunnel']);
    expect(r.stdout).toContain('tunnel create');
    expect(r.stdout).toContain('tunnel delete TUNNEL');
  });

  it('help for a nested group lists its subcommands; the outer group lists them all', async () => {
    const users = await tunnelctl(['help', 'admin', 'users']);
    expect(users.stdout).toMatch(/^Usage: tunnelctl admin users COMMAND/);
    expect(users.stdout).toContain('admin users role USER admin|user');
    expect(users.stdout).not.toContain('admin teams');
    const admin = await tunnelctl(['admin', '--help']);
    expect(admin.stdout).toContain('admin users create USER');
    expect(admin.stdout).toContain('admin teams add-member TEAM USER');
    expect(admin.stdout).toContain('admin tunnels');
  });
});
