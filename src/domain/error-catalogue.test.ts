/**
 * docs/api.md's error tables say what the catalogue says: every code with its status, and no
 * code the catalogue does not have. (The catalogue is the source; the tables are its copy.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ROUTE_ERRORS } from './error-catalogue.js';

const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const section = (title: string) => {
  const start = doc.indexOf(title);
  if (start < 0) throw new Error(`docs/api.md has no "${title}"`);
  const rest = doc.slice(start);
  const end = rest.slice(title.length).search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end + title.length);
};
const codes = (cell: string) => [...cell.matchAll(/`([a-z_]+(?:\.[a-z_*]+)?)`/g)].map((m) => m[1]!);

describe('the error catalogue and docs/api.md', () => {
  it('lists every API error code with its status, and nothing else', () => {
    const documented = new Map<string, number>();
    for (const line of section('## Errors').split('\n')) {
      const m = /^\| (\d{3}) \| ([^|]+) \|/.exec(line);
      if (!m) continue;
      for (const code of codes(m[2]!)) documented.set(code, Number(m[1]));
    }
    const catalogued = new Map(Object.entries(ERRORS).map(([code, e]) => [code, e.status]));
    expect(Object.fromEntries([...documented].sort())).toEqual(Object.fromEntries([...catalogued].sort()));
  });

  it('lists every route errorCode the reconciler gives', () => {
    const documented = new Set<string>();
    for (const line of section('Route errors carry').split('\n')) {
      const m = /^\| ([^|]+) \|/.exec(line);
      if (m) for (const code of codes(m[1]!)) documented.add(code);
    }
    for (const code of Object.keys(ROUTE_ERRORS)) expect(documented).toContain(code);
  });
});
