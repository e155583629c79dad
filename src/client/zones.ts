/**
 * Zones (`/api/v1/zones`; issue 16): the zones the caller may put routes under, with their
 * default; for admins, the zones pinned to a user or team (`/api/v1/admin/{users,teams}/…/zones`).
 */
import { seg, type CallOptions, type Transport } from './transport.js';
import type { ZoneList, ZonePins } from './types.js';

export interface ZonesApi {
  list(options?: CallOptions): Promise<ZoneList>;
  /** The zones pinned to a user or team (empty: every zone). */
  pins(kind: 'user' | 'team', name: string, options?: CallOptions): Promise<ZonePins>;
  /** Pins a user or team to these zones; `[]` unpins (every zone again). */
  setPins(kind: 'user' | 'team', name: string, zones: string[], options?: CallOptions): Promise<ZonePins>;
}

export function createZonesApi({ json }: Transport): ZonesApi {
  const path = (kind: 'user' | 'team', name: string) => `api/v1/admin/${kind}s/${seg(name)}/zones`;
  return {
    list: (o = {}) => json<ZoneList>({ method: 'GET', path: 'api/v1/zones', signal: o.signal }),
    pins: (kind, name, o = {}) => json<ZonePins>({ method: 'GET', path: path(kind, name), signal: o.signal }),
    setPins: (kind, name, zones, o = {}) =>
      json<ZonePins>({ method: 'PUT', path: path(kind, name), body: { zones }, signal: o.signal }),
  };
}
