/**
 * What every benchmark reports with: percentiles, readable tables, the machine it ran on, and
 * the merge of each benchmark's figures into `bench/results/latest.json`.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');
export const LATEST = join(RESULTS_DIR, 'latest.json');

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  /** The commit measured, and whether src/ had uncommitted changes. */
  commit: string;
  srcDirty: boolean;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: BENCH_DIR,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

export function machine(): Machine {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    srcDirty: git(['status', '--porcelain', '--', '../src']) !== '',
  };
}

/** Nearest-rank percentile of `values` (need not be sorted); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
  return {
    count: values.length,
    min: values.length ? Math.min(...values) : Number.NaN,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : Number.NaN,
    mean,
  };
}

/** Rounds to `digits` decimals (for JSON figures that stay readable). */
export const round = (n: number, digits = 1) =>
  Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n;

export const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

type Cell = string | number | boolean | null | undefined;

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    return Number.isInteger(v)
      ? v.toLocaleString('en-US')
      : v.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }
  return String(v);
}

/** Prints rows as an aligned table under a title; numbers are right-aligned. */
export function printTable(title: string, rows: ReadonlyArray<Record<string, Cell>>): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = rows.map((r) => columns.map((c) => cellText(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const numeric = columns.map((c) =>
    rows.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === 'number'),
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  const out = [`\n${title}`, line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)];
  process.stdout.write(out.join('\n') + '\n');
}

/** A key/value table (one row per figure). */
export function printFigures(title: string, figures: Record<string, Cell>): void {
  printTable(
    title,
    Object.entries(figures).map(([figure, value]) => ({ figure, value: cellText(value) })),
  );
}

export function note(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** Merges one run's results into latest.json: keys given replace the same keys, others stay. */
export function mergeResults(results: Record<string, unknown>, file = LATEST): Record<string, unknown> {
  mkdirSync(dirname(file), { recursive: true });
  let current: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      current = {};
    }
  }
  const merged = { ...current, ...results, machine: machine() };
  writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
  return merged;
}
