/**
 * Zones as users and admins see them (issue 16): which zones someone may use (the pure rule:
 * domain/zones.ts), the zone a new route lives under, and an admin's pins of users and teams.
 */
import { AppError } from '../domain/errors.js';
import {
  checkPins,
  chooseZone,
  defaultZoneFor,
  usableZones,
  type Zone,
  type Zones,
} from '../domain/zones.js';
import type { TeamsRepository, UserRow, UsersRepository, ZoneGrantsRepository } from '../store/index.js';
import { ownersOf, type Actor } from './actor.js';

export interface ZoneServiceDeps {
  zones: Zones;
  grants: ZoneGrantsRepository;
  users: Pick<UsersRepository, 'byName'>;
  teams: Pick<TeamsRepository, 'byName'>;
}

export interface ZoneList {
  items: Zone[];
  /** The zone a route gets when it names none (null: the caller may use none). */
  defaultZone: string | null;
}

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export function createZoneService(deps: ZoneServiceDeps) {
  const { zones, grants } = deps;

  /** The zones the actor may use: pinned to them or one of their teams (admins: all). */
  async function usable(actor: Actor): Promise<Zone[]> {
    const pins = actor.user.role === 'admin' ? [] : await grants.pinsOf(ownersOf(actor));
    return usableZones(zones, pins, actor.user.role === 'admin');
  }

  async function principal(kind: 'user' | 'team', name: string): Promise<UserRow> {
    const row = NAME.test(name)
      ? kind === 'user'
        ? await deps.users.byName(name)
        : await deps.teams.byName(name)
      : undefined;
    if (kind === 'user' && (!row || row.kind !== 'person'))
      throw new AppError('user.not_found', `No user named ${name.slice(0, 100)}.`);
    if (!row) throw new AppError('team.not_found', `No team named ${name.slice(0, 100)}.`);
    return row;
  }

  return {
    /** `GET /api/v1/zones`: the zones the caller may use, and their default. */
    async list(actor: Actor): Promise<ZoneList> {
      const items = await usable(actor);
      return { items, defaultZone: defaultZoneFor(zones, items)?.name ?? null };
    },
    /** The zone a new route of the actor lives under (`route.unknown_zone`, `route.zone_forbidden`). */
    async choose(actor: Actor, requested: string | undefined): Promise<Zone> {
      return chooseZone(zones, await usable(actor), requested);
    },
    /** The zones pinned to a user or team (empty: every zone). */
    async pins(kind: 'user' | 'team', name: string): Promise<{ zones: string[] }> {
      const row = await principal(kind, name);
      return { zones: await grants.pinsOf([row.id]) };
    },
    /** Replaces a user's or team's pins (422 `zone.unknown` for a zone not configured); audited. */
    async setPins(actor: Actor, kind: 'user' | 'team', name: string, requested: readonly string[]) {
      const row = await principal(kind, name);
      const pinned = checkPins(zones, requested);
      await grants.setPins(row.id, pinned, {
        ownerId: row.id,
        actor: actor.user.name,
        action: `${kind}.zones`,
        target: name,
        outcome: 'ok',
        details: { zones: pinned },
      });
      return { zones: pinned };
    },
  };
}

export type ZoneService = ReturnType<typeof createZoneService>;
