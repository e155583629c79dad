/**
 * Label selectors (`=`, `==`, `!=`, `in`, `notin`, `exists`, `!exists`, `<`, `>`) and field
 * selectors (`metadata.name`, `metadata.namespace`, and `type` for Secrets), parsed the way
 * k8s.io/apimachinery/pkg/labels does. A parse error is a 400 BadRequest, like the real server.
 */
import { badRequest } from './status.js';
import { isQualifiedName, labelValueErrors } from './validation.js';

export type LabelOperator = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '<' | '>';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: string } | { kind: 'end' };

const SPECIAL = new Set(['!', '=', '(', ')', ',', '<', '>']);

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (SPECIAL.has(c)) {
      const two = input.slice(i, i + 2);
      if (two === '!=' || two === '==') {
        tokens.push({ kind: 'op', text: two });
        i += 2;
      } else {
        tokens.push({ kind: 'op', text: c });
        i++;
      }
      continue;
    }
    let j = i;
    while (j < input.length && !SPECIAL.has(input[j] ?? '') && !/\s/.test(input[j] ?? '')) j++;
    tokens.push({ kind: 'id', text: input.slice(i, j) });
    i = j;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

function parseError(detail: string): Error {
  return badRequest(`unable to parse requirement: ${detail}`);
}

/** Parses a label selector string; the empty string selects everything. */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = lex(input);
  let pos = 0;
  const peek = (): Token => tokens[pos] ?? { kind: 'end' };
  const next = (): Token => tokens[pos++] ?? { kind: 'end' };
  const requirements: LabelRequirement[] = [];
  if (peek().kind === 'end') return requirements;

  for (;;) {
    requirements.push(parseRequirement());
    const t = next();
    if (t.kind === 'end') break;
    if (t.kind === 'op' && t.text === ',') continue;
    throw parseError(`found '${t.kind === 'id' ? t.text : t.text}', expected: ',' or 'end of string'`);
  }
  for (const r of requirements) checkRequirement(r);
  return requirements;

  function parseRequirement(): LabelRequirement {
    let t = next();
    if (t.kind === 'op' && t.text === '!') {
      t = next();
      if (t.kind !== 'id') throw parseError(`found '${describe(t)}', expected: identifier after '!'`);
      return { key: t.text, operator: '!', values: [] };
    }
    if (t.kind !== 'id')
      throw parseError(`found '${describe(t)}', expected: !, identifier, or 'end of string'`);
    const key = t.text;
    const op = peek();
    if (op.kind === 'end' || (op.kind === 'op' && op.text === ','))
      return { key, operator: 'exists', values: [] };
    next();
    if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
      const open = next();
      if (!(open.kind === 'op' && open.text === '('))
        throw parseError(`found '${describe(open)}', expected: '('`);
      const values: string[] = [];
      const first = peek();
      if (first.kind === 'op' && first.text === ')') {
        next();
        return { key, operator: op.text, values };
      }
      for (;;) {
        let v = next();
        let value = '';
        if (v.kind === 'id') {
          value = v.text;
          v = next();
        }
        values.push(value);
        if (v.kind === 'op' && v.text === ')') break;
        if (!(v.kind === 'op' && v.text === ','))
          throw parseError(`found '${describe(v)}', expected: ',', ')' or identifier`);
      }
      return { key, operator: op.text, values };
    }
    if (op.kind === 'op' && ['=', '==', '!=', '<', '>'].includes(op.text)) {
      const operator: LabelOperator = op.text === '==' ? '=' : (op.text as LabelOperator);
      const v = peek();
      if (v.kind === 'id') {
        next();
        return { key, operator, values: [v.text] };
      }
      if (operator === '<' || operator === '>')
        throw parseError(`found '${describe(v)}', expected: identifier`);
      return { key, operator, values: [''] };
    }
    throw parseError(`found '${describe(op)}', expected: in, notin, =, ==, !=, gt, lt`);
  }
}

function describe(t: Token): string {
  return t.kind === 'end' ? '' : t.text;
}

function checkRequirement(r: LabelRequirement): void {
  const keyErrors = isQualifiedName(r.key);
  if (keyErrors.length > 0)
    throw parseError(`key: Invalid value: ${JSON.stringify(r.key)}: ${keyErrors.join('; ')}`);
  if ((r.operator === 'in' || r.operator === 'notin') && r.values.length === 0) {
    throw parseError("values: Required value: for 'in', 'notin' operators, values set can't be empty");
  }
  if (r.operator === '<' || r.operator === '>') {
    const value = r.values[0] ?? '';
    if (!/^-?\d+$/.test(value)) {
      throw parseError(
        `values[0]: Invalid value: ${JSON.stringify(value)}: for 'Gt', 'Lt' operators, the value must be an integer`,
      );
    }
    return;
  }
  r.values.forEach((value, i) => {
    const errs = labelValueErrors(value);
    if (errs.length > 0)
      throw parseError(`values[${i}][${r.key}]: Invalid value: ${JSON.stringify(value)}: ${errs.join('; ')}`);
  });
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string>): boolean {
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
        return has && value === r.values[0];
      case '!=':
        return !has || value !== r.values[0];
      case 'in':
        return has && r.values.includes(value ?? '');
      case 'notin':
        return !has || !r.values.includes(value ?? '');
      case '<':
      case '>': {
        if (!has || !/^-?\d+$/.test(value ?? '')) return false;
        const a = Number(value);
        const b = Number(r.values[0]);
        return r.operator === '<' ? a < b : a > b;
      }
    }
    return false;
  });
}

export interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

/** Parses a field selector, accepting only the fields `supported` lists (400 otherwise). */
export function parseFieldSelector(input: string, supported: readonly string[]): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const part of input.split(',')) {
    const term = part.trim();
    if (!term) continue;
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = m[1] ?? '';
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    out.push({ field, equal: m[2] !== '!=', value: m[3] ?? '' });
  }
  return out;
}

export function matchesFields(selector: FieldRequirement[], fields: Record<string, string>): boolean {
  return selector.every((r) => (fields[r.field] === r.value) === r.equal);
}
