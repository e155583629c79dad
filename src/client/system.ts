/** The unauthenticated probes: liveness, readiness, Prometheus metrics and the OpenAPI document. */
import { tryParse } from './responses.js';
import type { CallOptions, Transport } from './transport.js';

export interface SystemApi {
  health(options?: CallOptions): Promise<{ status: string }>;
  /** `ready` is false on 503 (store or Cloudflare unreachable). */
  ready(options?: CallOptions): Promise<{ ready: boolean; body: unknown }>;
  metrics(options?: CallOptions): Promise<string>;
  openapi(options?: CallOptions): Promise<Record<string, unknown>>;
}

export function createSystemApi({ json, text, send }: Transport): SystemApi {
  return {
    health: (o = {}) =>
      json<{ status: string }>({ method: 'GET', path: 'healthz', auth: false, signal: o.signal }),
    ready: async (o = {}) => {
      const raw = await send({ method: 'GET', path: 'readyz', auth: false, accept: [503], signal: o.signal });
      return { ready: raw.status === 200, body: tryParse(raw.text) };
    },
    metrics: (o = {}) => text({ method: 'GET', path: 'metrics', auth: false, signal: o.signal }),
    openapi: (o = {}) =>
      json<Record<string, unknown>>({ method: 'GET', path: 'openapi.json', auth: false, signal: o.signal }),
  };
}
