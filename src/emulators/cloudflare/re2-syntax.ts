// Go's regexp.Compile, reduced to whether it fails and with which error: a port of the
// parse loop of regexp/syntax (Go 1.22+, Perl flags) that builds only the shape of the parse
// tree, enough for the checks that can fail. cloudflared compiles an ingress rule's `path`
// with it (reference §5.5). Everything RE2 accepts is accepted — flag groups `(?i)`,
// `(?i-s:…)`, `(?U)`, named groups `(?P<n>…)`/`(?<n>…)`, `\Q…\E`, `[[:alpha:]]`, `\pL`,
// `\x{…}`, `\A`, `\z` — and every rejection carries Go's text and fragment. Not modelled:
// the 128 MB program-size limit and Go's exact Unicode tables (`\p{…}` names are checked
// against JavaScript's, case-insensitively, as Go 1.25 looks them up).//
// The error codes, the parse-tree node and the atom scanners (escapes, classes, repeat
// counts) live in `re2-atoms.ts`; this module holds the parse loop and the Perl flags.

import {
  MAX_HEIGHT,
  MAX_REPEAT,
  Re2Error,
  isCaptureName,
  isPseudo,
  node,
  parseClass,
  parseEscape,
  parseRepeat,
  parseUnicodeClass,
  repeatIsValid,
  runeAt,
  type Node,
} from './re2-atoms.js';

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
