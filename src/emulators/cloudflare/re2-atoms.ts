// The pieces of the RE2 parse that `re2-syntax.ts` builds on: Go's regexp/syntax error
// codes and error form, the parser's limits (repeat count, nesting height), the shape-only
// parse-tree node, and the scanners for one atom — repeat counts `{n,m}`, escapes, `\p{…}`
// Unicode classes (checked against JavaScript's names) and bracketed classes `[…]`, each
// returning the index after what it read or throwing Go's error.

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

export class Re2Error extends Error {
  constructor(code: Re2ErrorCode, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

/** The largest count in `x{n,m}`, and the largest product of nested counts. */
export const MAX_REPEAT = 1000;
/** The deepest parse tree Go accepts. */
export const MAX_HEIGHT = 1000;
const MAX_RUNE = 0x10ffff;

const POSIX_CLASSES = new Set(
  ['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space']
    .concat(['upper', 'word', 'xdigit'])
    .flatMap((name) => [`[:${name}:]`, `[:^${name}:]`]),
);

/** A parse-tree node: just what the repeat-count and depth checks look at. */
export interface Node {
  kind: 'atom' | 'capture' | 'repeat' | 'counted' | 'concat' | 'alternate' | 'paren' | 'bar';
  /** `counted` only: the `{min,max}` bounds (max -1 = unbounded). */
  min: number;
  max: number;
  /** `paren` only: whether the group captures. */
  capture: boolean;
  subs: Node[];
  height: number;
}

export function node(kind: Node['kind'], subs: Node[] = [], extra: Partial<Node> = {}): Node {
  const height = 1 + subs.reduce((h, s) => Math.max(h, s.height), 0);
  return { kind, min: 0, max: 0, capture: false, subs, height, ...extra };
}

export const isPseudo = (n: Node | undefined) => n?.kind === 'paren' || n?.kind === 'bar';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isAlnum = (c: string) => /^[0-9A-Za-z]$/.test(c);

function unhex(c: string | undefined): number {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? parseInt(c, 16) : -1;
}

/** The code point at `i` and its length in UTF-16 units (0 at the end, like Go's nextRune on ""). */
export function runeAt(s: string, i: number): { rune: string; size: number } {
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
export const isCaptureName = (name: string) => /^[A-Za-z0-9_]+$/.test(name);

/** Go's repeatIsValid: nested `{n,m}` counts multiply to at most `n`. */
export function repeatIsValid(re: Node, n: number): boolean {
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
export function parseRepeat(s: string, i: number): { min: number; max: number; after: number } | null {
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
export function parseEscape(s: string, i: number): number {
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
export function parseUnicodeClass(s: string, i: number): number {
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
export function parseClass(s: string, i: number): number {
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
