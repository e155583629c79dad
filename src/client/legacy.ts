/**
 * The proof of concept's API (no `/api/v1` prefix). The server answers its mutations only once
 * they converged or 30 s passed, so those requests get 30 s more before they time out.
 */
import { seg, type CallOptions, type Transport } from './transport.js';
import type { LegacyDeleteResult, LegacyTunnelList, LegacyTunnelResult } from './types.js';

/** The proof of concept's paths, kept by the server for old scripts. They always wait (≤ 30 s). */
export interface LegacyApi {
  welcome(options?: CallOptions): Promise<string>;
  createTunnel(options?: CallOptions): Promise<LegacyTunnelResult>;
  listTunnels(options?: CallOptions): Promise<LegacyTunnelList>;
  credentials(name: string, options?: CallOptions): Promise<string>;
  config(name: string, options?: CallOptions): Promise<string>;
  deleteTunnel(name: string, options?: CallOptions): Promise<LegacyDeleteResult>;
  addRoute(name: string, service: string, options?: CallOptions): Promise<LegacyTunnelResult>;
  deleteRoutes(name: string, service: string, options?: CallOptions): Promise<LegacyTunnelResult>;
}

const LEGACY_WAIT_SECONDS = 30;

export function createLegacyApi({ json, text }: Transport): LegacyApi {
  const legacyHold = { holdSeconds: LEGACY_WAIT_SECONDS };
  return {
    welcome: (o = {}) => text({ method: 'GET', path: '', auth: false, signal: o.signal }),
    createTunnel: (o = {}) =>
      json<LegacyTunnelResult>({ method: 'POST', path: 'tunnels', ...legacyHold, signal: o.signal }),
    listTunnels: (o = {}) => json<LegacyTunnelList>({ method: 'GET', path: 'tunnels', signal: o.signal }),
    credentials: (name, o = {}) =>
      text({ method: 'GET', path: `tunnels/${seg(name)}/credentials`, signal: o.signal }),
    config: (name, o = {}) => text({ method: 'GET', path: `tunnels/${seg(name)}/config`, signal: o.signal }),
    deleteTunnel: (name, o = {}) =>
      json<LegacyDeleteResult>({
        method: 'DELETE',
        path: `tunnels/${seg(name)}`,
        ...legacyHold,
        signal: o.signal,
      }),
    addRoute: (name, service, o = {}) =>
      json<LegacyTunnelResult>({
        method: 'POST',
        path: `tunnels/${seg(name)}/routes`,
        query: { service },
        ...legacyHold,
        signal: o.signal,
      }),
    deleteRoutes: (name, service, o = {}) =>
      json<LegacyTunnelResult>({
        method: 'DELETE',
        path: `tunnels/${seg(name)}/routes`,
        query: { service },
        ...legacyHold,
        signal: o.signal,
      }),
  };
}
