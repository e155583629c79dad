/**
 * Teams: a team is a `users` row of kind `team` (named `team:<name>`, no password), so that it
 * owns tunnels, has quotas and a tunnel-list version exactly as a person does; `team_members`
 * says who acts for it. Memberships made by an admin are `manual`; those the identity
 * provider's groups claim gives are `sso` and follow the claim at every sign-in.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { now, type UserRow } from './rows.js';
import { NO_PASSWORD, TEAM_PREFIX, type UsersRepository } from './users-repository.js';

export interface TeamRef {
  id: string;
  /** The team's own name (without the prefix). */
  name: string;
}

export const teamName = (row: { name: string }) =>
  row.name.startsWith(TEAM_PREFIX) ? row.name.slice(TEAM_PREFIX.length) : row.name;

export function createTeamsRepository(db: Kysely<Database>, users: UsersRepository) {
  return {
    create: (name: string): Promise<UserRow> =>
      users.create({ name: TEAM_PREFIX + name, passwordHash: NO_PASSWORD, role: 'user', kind: 'team' }),
    /** Creates the team unless it exists (two sign-ins may name it at once). */
    ensure: async (name: string): Promise<UserRow> =>
      (
        await users.ensure({
          name: TEAM_PREFIX + name,
          passwordHash: NO_PASSWORD,
          role: 'user',
          kind: 'team',
        })
      ).user,
    async byName(name: string): Promise<UserRow | undefined> {
      const row = await users.byName(TEAM_PREFIX + name);
      return row?.kind === 'team' ? row : undefined;
    },
    list: (): Promise<UserRow[]> =>
      db
        .selectFrom('users')
        .leftJoin('tunnel_list_versions as v', 'v.owner_id', 'users.id')
        .leftJoin('auth_versions as a', 'a.user_id', 'users.id')
        .selectAll('users')
        .select((eb) => eb.fn.coalesce('v.version', eb.lit(0)).as('tunnels_version'))
        .select((eb) => eb.fn.coalesce('a.version', eb.lit(0)).as('auth_version'))
        .where('users.kind', '=', 'team')
        .orderBy('users.name')
        .execute() as Promise<UserRow[]>,
    /** The teams a person is in. */
    async teamsOf(userId: string): Promise<TeamRef[]> {
      const rows = await db
        .selectFrom('team_members')
        .innerJoin('users', 'users.id', 'team_members.team_id')
        .select(['users.id', 'users.name'])
        .where('team_members.user_id', '=', userId)
        .orderBy('users.name')
        .execute();
      return rows.map((r) => ({ id: r.id, name: teamName(r) }));
    },
    members: (teamId: string) =>
      db
        .selectFrom('team_members')
        .innerJoin('users', 'users.id', 'team_members.user_id')
        .select(['users.id', 'users.name', 'team_members.source', 'team_members.created_at'])
        .where('team_members.team_id', '=', teamId)
        .orderBy('users.name')
        .execute(),
    /** Adds (or makes manual) a membership; answers whether it is new. */
    async addMember(teamId: string, userId: string, source: 'manual' | 'sso'): Promise<boolean> {
      const res = await db
        .insertInto('team_members')
        .values({ team_id: teamId, user_id: userId, source, created_at: now() })
        .onConflict((oc) =>
          source === 'manual'
            ? oc.columns(['team_id', 'user_id']).doUpdateSet({ source: 'manual' })
            : oc.columns(['team_id', 'user_id']).doNothing(),
        )
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async removeMember(teamId: string, userId: string): Promise<boolean> {
      const res = await db
        .deleteFrom('team_members')
        .where('team_id', '=', teamId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    /**
     * Brings a person's `sso` memberships in line with the teams the groups claim names: joins
     * those, leaves the other `sso` ones; manual memberships stay. Answers what changed.
     */
    async syncSso(userId: string, teamIds: string[]): Promise<{ joined: string[]; left: string[] }> {
      const current = await db
        .selectFrom('team_members')
        .select(['team_id', 'source'])
        .where('user_id', '=', userId)
        .execute();
      const have = new Map(current.map((c) => [c.team_id, c.source]));
      const joined: string[] = [];
      const left: string[] = [];
      for (const id of teamIds) {
        if (have.has(id)) continue;
        if (await this.addMember(id, userId, 'sso')) joined.push(id);
      }
      for (const [id, source] of have) {
        if (source === 'sso' && !teamIds.includes(id) && (await this.removeMember(id, userId))) left.push(id);
      }
      return { joined, left };
    },
  };
}

export type TeamsRepository = ReturnType<typeof createTeamsRepository>;
