// Syntax checks for Rules-language (wirefilter) expressions, as far as the emulator goes: a
// lexer for double-quoted and raw strings (with wirefilter's escapes), words, operators and
// brackets; balanced brackets; sets `{…}` only after `in`, their items separated by spaces,
// never commas; and typed values for well-known fields: IP fields take one strict address
// after a comparison (CIDR only inside a set) and addresses, CIDRs (see ip-address.ts) or
// `a..b` ranges in a set; string fields take strings; integer fields integers. It does not
// know every field, function or type rule wirefilter has; unknown fields pass unchecked.
// Errors use wirefilter's own form: "Filter parsing error (line:col):", the line, carets
// under the bad input and the reason (cloudflare/wirefilter, engine/src/ast/parse.rs).
import { parseIpAddress, parseIpNetwork, type IpNetwork } from './ip-address.js';

/** Fields of type IP (wirefilter `Ip`). */
const IP_FIELDS = new Set(['ip.src', 'ip.dst', 'cf.edge.server_ip']);
/** Fields of type Bytes (strings). */
const STRING_FIELDS = new Set([
  'http.host',
  'http.cookie',
  'http.referer',
  'http.user_agent',
  'http.x_forwarded_for',
  'http.request.method',
  'http.request.version',
  'http.request.uri',
  'http.request.uri.path',
  'http.request.uri.path.extension',
  'http.request.uri.query',
  'http.request.full_uri',
  'ip.src.country',
  'ip.src.continent',
  'ip.src.city',
  'ip.src.region_code',
  'ip.src.subdivision_1_iso_code',
  'ip.src.subdivision_2_iso_code',
  'ip.src.postal_code',
  'ip.geoip.country',
  'ip.geoip.continent',
]);
/** Fields of type Int. */
const INT_FIELDS = new Set([
  'ip.src.asnum',
  'ip.geoip.asnum',
  'cf.edge.server_port',
  'cf.threat_score',
  'cf.bot_management.score',
  'cf.waf.score',
  'http.request.timestamp.sec',
]);
const COMPARISONS = new Set([
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'wildcard',
  'matches',
  '~',
]);
const SYMBOLS = ['==', '!=', '<=', '>=', '&&', '||', '^^', '<', '>', '~', '!'];
const WORD_CHAR = /[A-Za-z0-9_.:/%$*-]/;

interface Token {
  kind: 'string' | 'word' | 'symbol' | 'punct';
  text: string;
  start: number;
}

/** A refusal at `start` spanning `length` characters of the expression. */
class SyntaxProblem extends Error {
  constructor(
    readonly start: number,
    readonly length: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Formats a problem the way wirefilter's ParseError Display does (without its final newline). */
function describe(expression: string, problem: SyntaxProblem): string {
  const before = expression.slice(0, problem.start);
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineNumber = before.split('\n').length;
  const lineEnd = expression.indexOf('\n', problem.start);
  const line = expression.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  const column = problem.start - lineStart;
  const span = Math.min(problem.length, line.length - column);
  return [
    `Filter parsing error (${lineNumber}:${column + 1}):`,
    line,
    `${' '.repeat(column)}${'^'.repeat(Math.max(1, span))} ${problem.reason}`,
  ].join('\n');
}

function lexQuoted(expression: string, start: number): number {
  let i = start + 1;
  while (i < expression.length) {
    const c = expression[i];
    if (c === '"') return i + 1;
    if (c === '\\') {
      const next = expression.slice(i + 1, i + 4);
      if (next.startsWith('"') || next.startsWith('\\')) i += 2;
      else if (/^x[0-9a-fA-F]{2}/.test(next)) i += 4;
      else if (/^[0-7]{3}/.test(next)) i += 4;
      else throw new SyntaxProblem(i, 1, 'expected ", xHH or OOO after \\');
    } else {
      i += 1;
    }
  }
  throw new SyntaxProblem(start, expression.length - start, 'could not find an ending quote');
}

function lexRaw(expression: string, start: number): number {
  const hashes = /^r(#*)"/.exec(expression.slice(start))?.[1] ?? '';
  const close = `"${hashes}`;
  const end = expression.indexOf(close, start + 2 + hashes.length);
  if (end < 0) throw new SyntaxProblem(start, expression.length - start, 'could not find an ending quote');
  return end + close.length;
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const c = expression[i] ?? '';
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const start = i;
    if (c === '"') {
      i = lexQuoted(expression, i);
      tokens.push({ kind: 'string', text: expression.slice(start, i), start });
    } else if (/^r#*"/.test(expression.slice(i, i + 258))) {
      i = lexRaw(expression, i);
      tokens.push({ kind: 'string', text: expression.slice(start, i), start });
    } else if (c === "'") {
      throw new SyntaxProblem(i, 1, 'unrecognised input (strings are written in double quotes)');
    } else if ('(){}[],'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, start });
      i += 1;
    } else if (WORD_CHAR.test(c)) {
      while (i < expression.length && WORD_CHAR.test(expression[i] ?? '')) i += 1;
      tokens.push({ kind: 'word', text: expression.slice(start, i), start });
    } else {
      const symbol = SYMBOLS.find((s) => expression.startsWith(s, i));
      if (!symbol) throw new SyntaxProblem(i, 1, 'unrecognised input');
      tokens.push({ kind: 'symbol', text: symbol, start });
      i += symbol.length;
    }
  }
  return tokens;
}

function ipProblem(token: Token, offset: number, length: number, reason: string): SyntaxProblem {
  return new SyntaxProblem(token.start + offset, length, reason);
}

/** One item of an IP set: an address, a CIDR network or an `a..b` range of one family. */
function checkIpItem(token: Token): void {
  if (token.kind !== 'word') {
    throw new SyntaxProblem(token.start, token.text.length, 'expected an IP address, CIDR or range');
  }
  const range = token.text.indexOf('..');
  if (range >= 0) {
    const ends: IpNetwork[] = [];
    for (const [offset, text] of [
      [0, token.text.slice(0, range)],
      [range + 2, token.text.slice(range + 2)],
    ] as const) {
      const parsed = parseIpAddress(text);
      if (!parsed.ok) {
        throw ipProblem(token, offset + parsed.problem.offset, parsed.problem.length, parsed.problem.reason);
      }
      ends.push(parsed.network);
    }
    const [first, last] = ends;
    if (!first || !last || first.version !== last.version || first.value > last.value) {
      throw new SyntaxProblem(token.start, token.text.length, 'incompatible range bounds');
    }
    return;
  }
  const parsed = parseIpNetwork(token.text);
  if (!parsed.ok) {
    throw ipProblem(token, parsed.problem.offset, Math.max(1, parsed.problem.length), parsed.problem.reason);
  }
}

type ValueType = 'ip' | 'string' | 'int' | undefined;

function fieldType(token: Token | undefined): ValueType {
  if (token?.kind !== 'word') return undefined;
  if (IP_FIELDS.has(token.text)) return 'ip';
  if (STRING_FIELDS.has(token.text)) return 'string';
  if (INT_FIELDS.has(token.text)) return 'int';
  return undefined;
}

function checkValue(token: Token | undefined, type: ValueType, inSet: boolean, end: number): void {
  if (!token) throw new SyntaxProblem(end, 0, 'unrecognised input');
  if (type === 'string' && token.kind !== 'string') {
    throw new SyntaxProblem(token.start, token.text.length, 'expected a string in double quotes');
  }
  if (
    type === 'int' &&
    !(token.kind === 'word' && /^\d+(\.\.\d+)?$/.test(token.text) && (inSet || !token.text.includes('..')))
  ) {
    throw new SyntaxProblem(token.start, token.text.length, 'expected an integer');
  }
  if (type !== 'ip') return;
  if (inSet) {
    checkIpItem(token);
    return;
  }
  if (token.kind !== 'word')
    throw new SyntaxProblem(token.start, token.text.length, 'expected an IP address');
  if (token.text.includes('/')) {
    throw new SyntaxProblem(
      token.start,
      token.text.length,
      'CIDR ranges are only allowed inside a set, e.g. ip.src in {192.0.2.0/24}',
    );
  }
  const parsed = parseIpAddress(token.text);
  if (!parsed.ok)
    throw ipProblem(token, parsed.problem.offset, Math.max(1, parsed.problem.length), parsed.problem.reason);
}

function checkTokens(tokens: Token[], end: number): void {
  const open: Token[] = [];
  const closing: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] as Token;
    const previous = tokens[i - 1];
    if (token.text === '{' && token.kind === 'punct') {
      if (previous?.kind !== 'word' || previous.text !== 'in') {
        throw new SyntaxProblem(token.start, 1, 'unrecognised input (a set {…} may only follow "in")');
      }
      const type = fieldType(tokens[i - 2]);
      let j = i + 1;
      for (; j < tokens.length && tokens[j]?.text !== '}'; j += 1) {
        const item = tokens[j] as Token;
        if (item.kind === 'punct' && item.text === ',') {
          throw new SyntaxProblem(item.start, 1, 'set items are separated by spaces, not commas');
        }
        if (item.kind === 'punct' || item.kind === 'symbol') {
          throw new SyntaxProblem(item.start, item.text.length, 'unrecognised input');
        }
        checkValue(item, type, true, end);
      }
      if (j >= tokens.length) throw new SyntaxProblem(end, 0, 'unrecognised input');
      i = j;
      continue;
    }
    if (token.kind === 'punct' && '([{'.includes(token.text)) {
      open.push(token);
    } else if (token.kind === 'punct' && token.text in closing) {
      if (open.pop()?.text !== closing[token.text])
        throw new SyntaxProblem(token.start, 1, 'unrecognised input');
    } else if (COMPARISONS.has(token.text) && token.kind !== 'string') {
      const type = fieldType(previous);
      if (type) checkValue(tokens[i + 1], type, false, end);
    } else if (token.text === 'in' && token.kind === 'word') {
      const next = tokens[i + 1];
      if (!next || !(next.text === '{' || (next.kind === 'word' && /^\$[a-z0-9_]+$/.test(next.text)))) {
        throw new SyntaxProblem(
          next?.start ?? end,
          next?.text.length ?? 0,
          'expected a set {…} or a list $name after "in"',
        );
      }
    }
  }
  if (open.length > 0) throw new SyntaxProblem(end, 0, 'unrecognised input');
}

/**
 * Checks `expression`; returns null when it passes, else the error text in wirefilter's
 * "Filter parsing error (line:col): …" form.
 */
export function checkWirefilterSyntax(expression: string): string | null {
  try {
    checkTokens(tokenize(expression), expression.length);
    return null;
  } catch (error) {
    if (error instanceof SyntaxProblem) return describe(expression, error);
    throw error;
  }
}

/** Whether the expression uses a regex operator (`matches` or `~`) outside strings. */
export function usesRegexOperator(expression: string): boolean {
  try {
    return tokenize(expression).some(
      (t) => (t.kind === 'word' && t.text === 'matches') || (t.kind === 'symbol' && t.text === '~'),
    );
  } catch {
    return false;
  }
}
