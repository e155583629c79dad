/**
 * Zones (issue 16): the DNS zones routes live under, as start-up resolved them, and who may use
 * which. Pure rules: an admin may pin users and teams to zones; a user's usable zones are the
 * union of their own pins and their teams' (no pins anywhere: every zone); a route names its
 * zone or gets the caller's default (the operator's default when usable, else the first usable).
 */
import { AppError } from './errors.js';

export interface Zone {
  /** The apex name (`example.com`): routes store it, hostnames end in it. */
  name: string;
  /** Cloudflare's zone id. */
  id: string;
  /** The plan's name as Cloudflare said (null: not read). */
  plan: string | null;
  /** DNS operations per batch call in this zone (the plan's limit, or lower when configured). */
  dnsBatchLimit: number;
}

export interface Zones {
  /** In configuration order. */
  readonly all: readonly Zone[];
  readonly defaultZone: Zone;
  byName(name: string): Zone | undefined;
  /** The zone a hostname is one label under (the longest match), if any. */
  forHostname(hostname: string): Zone | undefined;
}

export const zoneName = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');

export function createZones(all: readonly Zone[], defaultName: string): Zones {
  if (all.length === 0) throw new Error('at least one zone is needed');
  const byName = new Map(all.map((z) => [z.name, z]));
  const defaultZone = byName.get(defaultName);
  if (!defaultZone) throw new Error(`the default zone ${defaultName} is not among the zones`);
  const longestFirst = [...all].sort((a, b) => b.name.length - a.name.length);
  return {
    all,
    defaultZone,
    byName: (name) => byName.get(zoneName(name)),
    forHostname: (hostname) => {
      const h = zoneName(hostname);
      return longestFirst.find((z) => h.endsWith(`.${z.name}`));
    },
  };
}

/**
 * The zones someone may use: admins every zone; others the zones pinned to them or to one of
 * their teams, or every zone when nothing is pinned to any of them. Pins naming a zone no longer
 * configured are ignored (so a user pinned only to such zones may use none).
 */
export function usableZones(zones: Zones, pins: readonly string[], isAdmin: boolean): Zone[] {
  if (isAdmin || pins.length === 0) return [...zones.all];
  const pinned = new Set(pins);
  return zones.all.filter((z) => pinned.has(z.name));
}

/** The default zone for someone who may use `usable`: the operator's default if usable, else the first. */
export function defaultZoneFor(zones: Zones, usable: readonly Zone[]): Zone | null {
  return usable.find((z) => z.name === zones.defaultZone.name) ?? usable[0] ?? null;
}

/** The zone a new route lives under; 422 `route.unknown_zone`, 403 `route.zone_forbidden`. */
export function chooseZone(zones: Zones, usable: readonly Zone[], requested: string | undefined): Zone {
  const names = usable.map((z) => z.name);
  if (requested === undefined) {
    const zone = defaultZoneFor(zones, usable);
    if (!zone)
      throw new AppError(
        'route.zone_forbidden',
        'you may not use any of the configured zones; ask an admin',
        {
          zones: names,
        },
      );
    return zone;
  }
  const zone = zones.byName(requested);
  if (!zone)
    throw new AppError(
      'route.unknown_zone',
      `${requested} is not a zone of this server (${names.join(', ') || 'none'} may be used)`,
      { zones: names },
    );
  if (!names.includes(zone.name))
    throw new AppError(
      'route.zone_forbidden',
      `you may not use zone ${zone.name} (${names.join(', ') || 'none'} may be used); ask an admin`,
      { zones: names },
    );
  return zone;
}

/** An admin's pins, checked: every name a configured zone (422 `zone.unknown`), each once, normalised. */
export function checkPins(zones: Zones, requested: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of requested) {
    const zone = zones.byName(raw);
    if (!zone)
      throw new AppError('zone.unknown', `${raw} is not a zone of this server`, {
        zones: zones.all.map((z) => z.name),
      });
    if (!out.includes(zone.name)) out.push(zone.name);
  }
  return out;
}
