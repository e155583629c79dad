/**
 * Durations as people type them (`90s`, `30m`, `2h`, `1d`, `1h30m`) for `--ttl`, and back
 * (`8h`, `1d 2h`) for messages. Whole seconds; the API's bounds are checked by the caller.
 */
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../client/index.js';
import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds in `text`, or null when it is not a duration (a bare number has no unit: null too). */
export function parseDuration(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (!/^(\d+[smhd])+$/.test(s)) return null;
  let total = 0;
  for (const [, n, unit] of s.matchAll(/(\d+)([smhd])/g)) total += Number(n) * (UNITS[unit as string] ?? 0);
  return Number.isSafeInteger(total) ? total : null;
}

/** `90s` → `1m30s`, `28800` → `8h`, `93600` → `1d2h`: the largest units, zeros left out. */
export function formatDuration(seconds: number): string {
  let left = Math.max(0, Math.round(seconds));
  if (left === 0) return '0s';
  let out = '';
  for (const [unit, size] of Object.entries(UNITS).reverse()) {
    const n = Math.floor(left / size);
    if (n > 0) out += `${n}${unit}`;
    left -= n * size;
  }
  return out;
}

/** The `--ttl` flag in seconds (undefined when not given); a usage error outside the API's bounds. */
export function ttlFlag(value: string | undefined, command: string[]): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds === null)
    throw new UsageError(
      `--ttl must be a duration such as 90s, 30m, 2h, 1d or 1h30m, not ${JSON.stringify(value)}`,
      command,
    );
  if (seconds < MIN_TTL_SECONDS || seconds > MAX_TTL_SECONDS)
    throw new UsageError(
      `--ttl must be from ${formatDuration(MIN_TTL_SECONDS)} to ${formatDuration(MAX_TTL_SECONDS)} (the control plane's limits), not ${value}`,
      command,
    );
  return seconds;
}
