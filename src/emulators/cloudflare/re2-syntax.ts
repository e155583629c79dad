// Go's regexp.Compile, reduced to whether it fails and with which error: a port of the
// parse loop of regexp/syntax (Go 1.22+, Perl flags) that builds only the shape of the parse
// tree, enough for the checks that can fail. cloudflared compiles an ingress rule's `path`
// with it (reference §5.5). Everything RE2 accepts is accepted — flag groups `(?i)`,
// `(?i-s:…)`, `(?U)`, named groups `(?P<n>…)`/`(?<n>…)`, `\Q…\E`, `[[:alpha:]]`, `\pL`,
// `\x{…}`, `\A`, `\z` — and every rejection carries Go's text and fragment. Not modelled:
// the 128 MB program-size limit and Go's exact Unicode tables (`\p{…}` names are checked
// against JavaScript's, case-insensitively, as Go 1.25 looks them up).

type Re2ErrorCode =
  | 'invalid character class range'
  | 'invalid escape sequence'
  | 'invalid named capture'
  | 'invalid or unsupported Perl syntax'
  | 'invalid nested repetition operator'
  | 'invalid repeat count'
  | 'missing closing ]'
  | 'missing closing )'
  | 'missing argument to repetition operator'
  | 'trailing backslash at end of expression'
  | 'unexpected )'
  | 'expression nests too deeply';

class Re2Error extends Error {
  constructor(code: Re2ErrorCode, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

/** The largest count in `x{n,m}`, and the largest product of nested counts. */
const MAX_REPEAT = 1000;
/** The deepest parse tree Go accepts. */
const MAX_HEIGHT = 1000;
const MAX_RUNE = 0x10ffff;

const POSIX_CLASSES = new Set(
  ['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space']
    .concat(['upper', 'word', 'xdigit'])
    .flatMap((name) => [`[:${name}:]`, `[:^${name}:]`]),
);

/** A parse-tree node: just what the repeat-count and depth checks look at. */
interface Node {
  kind: 'atom' | 'capture' | 'repeat' | 'counted' | 'concat' | 'alternate' | 'paren' | 'bar';
  /** `counted` only: the `{min,max}` bounds (max -1 = unbounded). */
  min: number;
  max: number;
  /** `paren` only: whether the group captures. */
  capture: boolean;
  subs: Node[];
  height: number;
}

function node(kind: Node['kind'], subs: Node[] = [], extra: Partial<Node> = {}): Node {
  const height = 1 + subs.reduce((h, s) => Math.max(h, s.height), 0);
  return { kind, min: 0, max: 0, capture: false, subs, height, ...extra };
}

const isPseudo = (n: Node | undefined) => n?.kind === 'paren' || n?.kind === 'bar';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isAlnum = (c: string) => /^[0-9A-Za-z]$/.test(c);

function unhex(c: string | undefined): number {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? parseInt(c, 16) : -1;
}

/** The code point at `i` and its length in UTF-16 units (0 at the end, like Go's nextRune on ""). */
function runeAt(s: string, i: number): { rune: string; size: number } {
  const cp = s.codePointAt(i);
  if (cp === undefined) return { rune: '', size: 0 };
  const rune = String.fromCodePoint(cp);
  return { rune, size: rune.length };
}

/** Go 1.25's `\p{…}` lookup: Any, ASCII, Assigned, LC, categories (and aliases), scripts. */
function isUnicodeClassName(name: string): boolean {
  const canonical = name.replace(/[\s_-]/g, '').toLowerCase();
  if (['any', 'ascii', 'assigned', 'lc'].includes(canonical)) return true;
  const words = name.split(/[\s_-]+/).filter(Boolean);
  const spellings = new Set([
    name,
    canonical.charAt(0).toUpperCase() + canonical.slice(1),
    words.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('_'),
  ]);
  for (const spelling of spellings) {
    if (!/^[A-Za-z_]+$/.test(spelling)) continue;
    for (const source of [`\\p{General_Category=${spelling}}`, `\\p{Script=${spelling}}`]) {
      try {
        new RegExp(source, 'u');
        return true;
      } catch {
        // not this spelling
      }
    }
  }
  return false;
}

/** Go's isValidCaptureName: [A-Za-z0-9_]+. */
const isCaptureName = (name: string) => /^[A-Za-z0-9_]+$/.test(name);

/** Go's repeatIsValid: nested `{n,m}` counts multiply to at most `n`. */
function repeatIsValid(re: Node, n: number): boolean {
  let budget = n;
  if (re.kind === 'counted') {
    let m = re.max;
    if (m === 0) return true;
    if (m < 0) m = re.min;
    if (m > budget) return false;
    if (m > 0) budget = Math.floor(budget / m);
  }
  return re.subs.every((sub) => repeatIsValid(sub, budget));
}

/** `{min}`, `{min,}` or `{min,max}` at `i`; null when it is not one (then `{` is a literal). */
function parseRepeat(s: string, i: number): { min: number; max: number; after: number } | null {
  const parseInt10 = (j: number): { n: number; end: number } | null => {
    if (!isDigit(s[j])) return null;
    if (s[j] === '0' && isDigit(s[j + 1])) return null; // no leading zeros
    let end = j;
    while (isDigit(s[end])) end += 1;
    let n = 0;
    for (const digit of s.slice(j, end)) {
      if (n >= 1e8) return { n: -1, end }; // too big
      n = n * 10 + Number(digit);
    }
    return { n, end };
  };
  const first = parseInt10(i + 1);
  if (!first) return null;
  let min = first.n;
  let max: number;
  let j = first.end;
  if (j >= s.length) return null;
  if (s[j] !== ',') {
    max = min;
  } else {
    j += 1;
    if (j >= s.length) return null;
    if (s[j] === '}') {
      max = -1;
    } else {
      const second = parseInt10(j);
      if (!second) return null;
      max = second.n;
      j = second.end;
      if (max < 0) min = -1;
    }
  }
  if (s[j] !== '}') return null;
  return { min, max, after: j + 1 };
}

/** One escape (`\n`, `\x{41}`, `\101`, `\.`…) at `i`; returns the index after it. */
function parseEscape(s: string, i: number): number {
  let j = i + 1;
  if (j >= s.length) throw new Re2Error('trailing backslash at end of expression', '');
  const c = runeAt(s, j);
  j += c.size;
  const invalid = () => new Re2Error('invalid escape sequence', s.slice(i, j));
  const r = c.rune;
  if (r >= '1' && r <= '7' && !isOctal(s[j])) throw invalid(); // a backreference
  if (r >= '0' && r <= '7') {
    for (let k = 1; k < 3 && isOctal(s[j]); k += 1) j += 1;
    return j;
  }
  if (r === 'x') {
    if (j >= s.length) throw invalid();
    const open = runeAt(s, j);
    j += open.size;
    if (open.rune === '{') {
      let digits = 0;
      let value = 0;
      for (;;) {
        if (j >= s.length) throw invalid();
        const d = runeAt(s, j);
        j += d.size;
        if (d.rune === '}') break;
        const v = unhex(d.rune);
        if (v < 0) throw invalid();
        value = value * 16 + v;
        if (value > MAX_RUNE) throw invalid();
        digits += 1;
      }
      if (digits === 0) throw invalid();
      return j;
    }
    const low = runeAt(s, j);
    j += low.size;
    if (unhex(open.rune) < 0 || unhex(low.rune) < 0) throw invalid();
    return j;
  }
  if ('afnrtv'.includes(r)) return j;
  if (r.length === 1 && r.charCodeAt(0) < 0x80 && !isAlnum(r)) return j; // escaped punctuation
  throw invalid();
}

/** `\pL`, `\p{Greek}`, `\P{^Han}` at `i`; returns the index after it. */
function parseUnicodeClass(s: string, i: number): number {
  const c = runeAt(s, i + 2);
  let seq: string;
  let name: string;
  let after: number;
  if (c.rune !== '{') {
    after = i + 2 + c.size;
    seq = s.slice(i, after);
    name = seq.slice(2);
  } else {
    const end = s.indexOf('}', i);
    if (end < 0) throw new Re2Error('invalid character class range', s.slice(i));
    seq = s.slice(i, end + 1);
    name = s.slice(i + 3, end);
    after = end + 1;
  }
  if (name.startsWith('^')) name = name.slice(1);
  if (!isUnicodeClassName(name)) throw new Re2Error('invalid character class range', seq);
  return after;
}

/** A bracketed class at `i`; returns the index after its `]`. */
function parseClass(s: string, i: number): number {
  let j = i + 1;
  if (s[j] === '^') j += 1;
  const classChar = (at: number): { code: number; next: number } => {
    if (at >= s.length) throw new Re2Error('missing closing ]', s.slice(i));
    if (s[at] === '\\') {
      const next = parseEscape(s, at);
      return { code: escapedCode(s.slice(at, next)), next };
    }
    const c = runeAt(s, at);
    return { code: c.rune.codePointAt(0) ?? 0, next: at + c.size };
  };
  let first = true; // ] is a literal as the first character
  while (j >= s.length || s[j] !== ']' || first) {
    first = false;
    if (s.length - j > 2 && s[j] === '[' && s[j + 1] === ':') {
      const end = s.indexOf(':]', j + 2);
      if (end >= 0) {
        const name = s.slice(j, end + 2);
        if (!POSIX_CLASSES.has(name)) throw new Re2Error('invalid character class range', name);
        j = end + 2;
        continue;
      }
    }
    if (s[j] === '\\' && (s[j + 1] === 'p' || s[j + 1] === 'P')) {
      j = parseUnicodeClass(s, j);
      continue;
    }
    if (s[j] === '\\' && /^[dDsSwW]$/.test(s[j + 1] ?? '')) {
      j += 2;
      continue;
    }
    const start = j;
    const lo = classChar(j);
    j = lo.next;
    if (s.length - j >= 2 && s[j] === '-' && s[j + 1] !== ']') {
      const hi = classChar(j + 1);
      j = hi.next;
      if (hi.code < lo.code) throw new Re2Error('invalid character class range', s.slice(start, j));
    }
  }
  return j + 1;
}

/** The code point an escape (already validated by parseEscape) stands for. */
function escapedCode(escape: string): number {
  const body = escape.slice(1);
  const named = new Map([
    ['a', 7],
    ['f', 12],
    ['n', 10],
    ['r', 13],
    ['t', 9],
    ['v', 11],
  ]);
  const control = named.get(body);
  if (control !== undefined) return control;
  if (/^[0-7]+$/.test(body)) return parseInt(body, 8);
  if (body.startsWith('x{')) return parseInt(body.slice(2, -1), 16);
  if (body.startsWith('x')) return parseInt(body.slice(1), 16);
  return body.codePointAt(0) ?? 0;
}

/** Go's error for `pattern` as `regexp.Compile` reports it, or null when it compiles. */
export function compileRe2(pattern: string): string | null {
  try {
    parseRe2(pattern);
    return null;
  } catch (error) {
    if (error instanceof Re2Error) return error.message;
    throw error;
  }
}

function parseRe2(s: string): void {
  const stack: Node[] = [];
  const push = (n: Node) => {
    if (n.height > MAX_HEIGHT) throw new Re2Error('expression nests too deeply', s);
    stack.push(n);
  };
  /**
   * Replaces the run above the topmost `(` or `|` with its concatenation (`concat`) or
   * alternation (`alternate`); like Go's collapse, a lone item stays itself and nested
   * items of the same kind are flattened. An empty run becomes an empty match.
   */
  const collapse = (kind: 'concat' | 'alternate') => {
    let k = stack.length;
    while (k > 0 && !isPseudo(stack[k - 1])) k -= 1;
    const subs = stack.splice(k).flatMap((sub) => (sub.kind === kind ? sub.subs : [sub]));
    push(subs.length === 1 && subs[0] ? subs[0] : node(subs.length === 0 ? 'atom' : kind, subs));
  };
  const concat = () => collapse('concat');
  const alternate = () => collapse('alternate');
  /** Keeps a pending `|` on top of the stack (Go's swapVerticalBar). */
  const swapBar = (): boolean => {
    const n = stack.length;
    const below = stack[n - 2];
    const top = stack[n - 1];
    if (n >= 2 && below?.kind === 'bar' && top) {
      stack[n - 2] = top;
      stack[n - 1] = below;
      return true;
    }
    return false;
  };
  const repeat = (
    counted: boolean,
    min: number,
    max: number,
    before: number,
    after: number,
    lastRepeat: number,
  ): number => {
    let end = after;
    if (s[end] === '?') end += 1; // non-greedy
    if (lastRepeat >= 0) throw new Re2Error('invalid nested repetition operator', s.slice(lastRepeat, end));
    const sub = stack.at(-1);
    if (!sub || isPseudo(sub))
      throw new Re2Error('missing argument to repetition operator', s.slice(before, end));
    const re = node(counted ? 'counted' : 'repeat', [sub], { min, max });
    if (re.height > MAX_HEIGHT) throw new Re2Error('expression nests too deeply', s);
    stack[stack.length - 1] = re;
    if (counted && (min >= 2 || max >= 2) && !repeatIsValid(re, MAX_REPEAT)) {
      throw new Re2Error('invalid repeat count', s.slice(before, end));
    }
    return end;
  };

  let lastRepeat = -1;
  let i = 0;
  while (i < s.length) {
    let repeatStart = -1;
    const c = s[i];
    if (c === '(') {
      if (s[i + 1] === '?') {
        i = parsePerlFlags(
          s,
          i,
          () => push(node('paren', [], { capture: false })),
          () => push(node('paren', [], { capture: true })),
        );
      } else {
        push(node('paren', [], { capture: true }));
        i += 1;
      }
    } else if (c === '|') {
      concat();
      if (!swapBar()) push(node('bar'));
      i += 1;
    } else if (c === ')') {
      concat();
      if (swapBar()) stack.pop();
      alternate();
      const body = stack.pop();
      const paren = stack.pop();
      if (!body || paren?.kind !== 'paren') throw new Re2Error('unexpected )', s);
      push(paren.capture ? node('capture', [body]) : body);
      i += 1;
    } else if (c === '^' || c === '$' || c === '.') {
      push(node('atom'));
      i += 1;
    } else if (c === '[') {
      i = parseClass(s, i);
      push(node('atom'));
    } else if (c === '*' || c === '+' || c === '?') {
      repeatStart = i;
      i = repeat(false, 0, 0, i, i + 1, lastRepeat);
    } else if (c === '{') {
      const counts = parseRepeat(s, i);
      if (!counts) {
        push(node('atom')); // a literal {
        i += 1;
      } else {
        const { min, max, after } = counts;
        if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
          throw new Re2Error('invalid repeat count', s.slice(i, after));
        }
        repeatStart = i;
        i = repeat(true, min, max, i, after, lastRepeat);
      }
    } else if (c === '\\') {
      const next = s[i + 1];
      if (next === 'A' || next === 'b' || next === 'B' || next === 'z') {
        push(node('atom'));
        i += 2;
      } else if (next === 'C') {
        throw new Re2Error('invalid escape sequence', '\\C');
      } else if (next === 'Q') {
        const end = s.indexOf('\\E', i + 2);
        const literal = end < 0 ? s.slice(i + 2) : s.slice(i + 2, end);
        for (const _ of literal) push(node('atom'));
        i = end < 0 ? s.length : end + 2;
      } else if (next === 'p' || next === 'P') {
        i = parseUnicodeClass(s, i);
        push(node('atom'));
      } else if (next !== undefined && /^[dDsSwW]$/.test(next)) {
        push(node('atom'));
        i += 2;
      } else {
        i = parseEscape(s, i);
        push(node('atom'));
      }
    } else {
      push(node('atom'));
      i += runeAt(s, i).size;
    }
    lastRepeat = repeatStart;
  }
  concat();
  if (swapBar()) stack.pop();
  alternate();
  if (stack.length !== 1) throw new Re2Error('missing closing )', s);
}

/**
 * `(?flags)`, `(?flags:`, `(?P<name>` or `(?<name>` at `i`; pushes a group when one opens
 * and returns the index after the construct. Flags change matching only, never validity.
 */
function parsePerlFlags(s: string, i: number, openGroup: () => void, openCapture: () => void): number {
  const rest = s.length - i;
  const startsWithP = rest > 4 && s[i + 2] === 'P' && s[i + 3] === '<';
  const startsWithName = rest > 3 && s[i + 2] === '<';
  if (startsWithP || startsWithName) {
    const end = s.indexOf('>', i);
    if (end < 0) throw new Re2Error('invalid named capture', s.slice(i));
    const name = s.slice(i + (startsWithP ? 4 : 3), end);
    if (!isCaptureName(name)) throw new Re2Error('invalid named capture', s.slice(i, end + 1));
    openCapture();
    return end + 1;
  }
  let j = i + 2;
  let negated = false;
  let sawFlag = false;
  while (j < s.length) {
    const c = runeAt(s, j);
    j += c.size;
    if ('imsU'.includes(c.rune) && c.rune.length === 1) {
      sawFlag = true;
    } else if (c.rune === '-') {
      if (negated) break;
      negated = true;
      sawFlag = false;
    } else if (c.rune === ':' || c.rune === ')') {
      if (negated && !sawFlag) break;
      if (c.rune === ':') openGroup();
      return j;
    } else {
      break;
    }
  }
  throw new Re2Error('invalid or unsupported Perl syntax', s.slice(i, j));
}
