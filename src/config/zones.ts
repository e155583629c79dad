/**
 * The zones a configuration names (issue 16): the single zone of `cloudflare.zoneName`/`zoneId`
 * (the proof of concept's cloudflare.yaml `zone`; an id alone may come from cert.pem) first, then
 * `cloudflare.zones`, and which one is the default. Pure: start-up (main/startup.ts) checks each
 * against Cloudflare.
 */
import type { ServerConfig } from './config-schema.js';

export interface ConfiguredZone {
  /** The apex name; absent only for the single zone given by id alone (start-up then refuses). */
  name: string | undefined;
  id: string | undefined;
  /** The key a problem with this zone names. */
  key: string;
}

export interface ConfiguredZones {
  zones: ConfiguredZone[];
  /** The default zone's name (undefined when no zone has a name). */
  defaultZone: string | undefined;
  /** What is wrong, with the key at fault. */
  problems: string[];
}

type ZoneKeys = Pick<ServerConfig['cloudflare'], 'zoneName' | 'zoneId' | 'zones' | 'defaultZone'>;

const apex = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');

export function configuredZones(cf: ZoneKeys): ConfiguredZones {
  const zones: ConfiguredZone[] = [];
  const problems: string[] = [];
  const single = cf.zoneName ? apex(cf.zoneName) : undefined;
  if (single || cf.zoneId) zones.push({ name: single, id: cf.zoneId, key: 'cloudflare.zoneName' });
  cf.zones.forEach((z, i) => {
    if (single && z.name === single) {
      // The single zone listed again: one zone, and the ids must agree.
      if (z.id && cf.zoneId && z.id !== cf.zoneId)
        problems.push(
          `cloudflare.zones.${i}.id: ${z.name} is cloudflare.zoneName with id ${cf.zoneId}, not ${z.id}`,
        );
      if (z.id && !cf.zoneId) zones[0]!.id = z.id;
      return;
    }
    zones.push({ name: z.name, id: z.id, key: `cloudflare.zones.${i}` });
  });
  const ids = new Map<string, string>();
  for (const z of zones) {
    if (!z.id) continue;
    const other = ids.get(z.id);
    if (other !== undefined) problems.push(`${z.key}: zone id ${z.id} is also given for ${other}`);
    ids.set(z.id, z.name ?? '(unnamed)');
  }
  const named = zones.flatMap((z) => (z.name ? [z.name] : []));
  let defaultZone = named[0];
  if (cf.defaultZone) {
    if (named.includes(cf.defaultZone)) defaultZone = cf.defaultZone;
    else
      problems.push(
        `cloudflare.defaultZone: ${cf.defaultZone} is not one of the configured zones (${named.join(', ') || 'none'})`,
      );
  }
  return { zones, defaultZone, problems };
}
