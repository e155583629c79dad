/**
 * This installation's identity: created once, kept in the database, carried in every ownership
 * marker (domain/ownership.ts). Two installations can share it only by being told to (the same
 * `instance` in both configurations, or one database restored into two).
 *
 * - The database holds an id: it is the identity. A configured `instance` must equal it.
 * - A database from before installation ids that already holds tunnels keeps the markers it
 *   wrote: `instance`, else the first 8 hex of the zone id (the old default). No re-tagging.
 * - A new database takes `instance` when configured, else a random id. A configured one whose
 *   markers Cloudflare already holds is refused unless `adoptInstallation` says this database
 *   replaces a lost one: else a configuration copied to a second installation (a fresh
 *   database, the same `instance`) would adopt and collect the first one's objects.
 */
import { randomBytes } from 'node:crypto';
import { INSTANCE_ID } from '../domain/ownership.js';
import type { ResyncRepository, SettingsRepository } from '../store/index.js';

export const INSTALLATION_KEY = 'installation_id';

export class InstallationMismatch extends Error {}

/** 10 characters of [a-z0-9]: fits the markers' 12. */
export function randomInstallationId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}

export async function resolveInstallation(
  deps: {
    settings: SettingsRepository;
    resync: Pick<ResyncRepository, 'isEmpty'>;
    /** What Cloudflare already holds with this id's markers (a few names, none when it is new). */
    marked: (id: string) => Promise<string[]>;
  },
  configured: string | undefined,
  zoneId: string,
  opts: { adopt?: boolean } = {},
): Promise<{ id: string; created: boolean }> {
  const stored = await deps.settings.get(INSTALLATION_KEY);
  if (stored) {
    if (configured && configured !== stored) {
      throw new InstallationMismatch(
        `instance: the configuration says ${JSON.stringify(configured)} but this database belongs to installation ${JSON.stringify(stored)}. ` +
          'Markers carry the installation id, so changing it would make everything this installation made foreign to it. Remove `instance` from the configuration, or point it at the right database.',
      );
    }
    return { id: stored, created: false };
  }
  const legacy = !(await deps.resync.isEmpty());
  const candidate = configured ?? (legacy ? zoneId.slice(0, 8) : randomInstallationId());
  if (!INSTANCE_ID.test(candidate))
    throw new InstallationMismatch(
      `instance ${JSON.stringify(candidate)} must be 1-12 lowercase letters or digits`,
    );
  if (configured && !legacy && !opts.adopt) {
    const found = await deps.marked(candidate);
    // Another replica of this installation may have written the id (and made objects) meanwhile.
    if (found.length > 0 && (await deps.settings.get(INSTALLATION_KEY)) !== candidate)
      throw new InstallationMismatch(
        `instance ${JSON.stringify(candidate)}: this database is new, but Cloudflare already holds objects with this installation's marker (${found.join(', ')}). ` +
          'Another installation using the same `instance` (a copied configuration?) would lose them to this one. ' +
          'Give this installation an `instance` of its own (or none: a new database then takes a random id); ' +
          'if this database replaces a lost one of the same installation, start it once with --adopt-installation (or adoptInstallation: true).',
      );
  }
  // Replicas starting together on an empty database agree on whichever id was written first.
  const id = await deps.settings.setOnce(INSTALLATION_KEY, candidate);
  return { id, created: id === candidate };
}
