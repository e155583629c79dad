/** Small words for dates, durations and states, the way tunnelctl prints them. */
import type { ConnectorStatus, Phase } from '../../src/client/index.js';

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return `in ${span(-s)}`;
  if (s < 5) return 'just now';
  return `${span(s)} ago`;
}

export function span(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const PHASE_WORDS: Record<Phase, string> = {
  pending: 'Pending',
  ready: 'Ready',
  error: 'Error',
  deleting: 'Deleting',
};

export const CONNECTOR_WORDS: Record<ConnectorStatus, string> = {
  healthy: 'Connected',
  degraded: 'Degraded',
  down: 'Down',
  inactive: 'Never connected',
};
