/** Users and their usage (what quotas count). */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { AppError } from '../domain/errors.js';
import type { Database } from './schema.js';
import type { HotReads } from './database.js';
import { isUniqueViolation, now, type Db, type Quotas, type UserRow } from './rows.js';

/** Live (not being deleted) tunnels a user owns. */
export async function countTunnels(trx: Db, ownerId: string): Promise<number> {
  const row = await trx
    .selectFrom('tunnels')
    .select(trx.fn.countAll<number>().as('n'))
    .where('owner_id', '=', ownerId)
    .where('deleting', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export const TCP_LIKE_PROTOCOLS = ['tcp', 'ssh', 'rdp', 'smb'];

/** Which routes count: all, protected ones (an Access application each), or TCP-like ones (a service token each). */
export type RouteKind = 'all' | 'protected' | 'tcp';

/** Live routes of the user's tunnels, of a kind. */
export async function countRoutes(trx: Db, ownerId: string, kind: RouteKind = 'all'): Promise<number> {
  let q = trx
    .selectFrom('routes')
    .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
    .select(trx.fn.countAll<number>().as('n'))
    .where('tunnels.owner_id', '=', ownerId)
    .where('routes.deleting', '=', 0);
  if (kind === 'tcp') q = q.where('routes.protocol', 'in', TCP_LIKE_PROTOCOLS);
  if (kind === 'protected') {
    q = q.where((eb) =>
      eb.or([
        eb('routes.protocol', 'in', TCP_LIKE_PROTOCOLS),
        eb('routes.access_rule', 'is not', null),
        eb('routes.allow_ips', 'is not', null),
      ]),
    );
  }
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/**
 * Routes of the whole installation that hold (or will) an Access application, or a service
 * token — deleting ones too, until their objects are gone.
 */
export async function countHeld(trx: Db, kind: 'protected' | 'tcp'): Promise<number> {
  let q = trx.selectFrom('routes').select(trx.fn.countAll<number>().as('n'));
  q =
    kind === 'tcp'
      ? q.where('protocol', 'in', TCP_LIKE_PROTOCOLS)
      : q.where((eb) =>
          eb.or([
            eb('protocol', 'in', TCP_LIKE_PROTOCOLS),
            eb('access_rule', 'is not', null),
            eb('allow_ips', 'is not', null),
          ]),
        );
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export interface NewUser {
  name: string;
  passwordHash: string;
  role: 'user' | 'admin';
  kind?: 'person' | 'team';
  email?: string | null;
  oidcIssuer?: string | null;
  oidcSubject?: string | null;
}

/** What a password hash holds for an account without a password (single sign-on only, a team): nothing verifies against it. */
export const NO_PASSWORD = '!';

/** The `users` row a team is stored as: its name prefixed, so it never meets a person's name (":" cannot be in one). */
export const TEAM_PREFIX = 'team:';

/** Users whose rows `current` keeps at most (the least recently used go first). */
const CURRENT_ROWS = 10_000;

export function createUsersRepository(db: Kysely<Database>, hotReads?: HotReads) {
  /**
   * Users with their tunnel list's version and their auth version: one query, read before any
   * tunnel, token or membership they version.
   */
  const select = () =>
    db
      .selectFrom('users')
      .leftJoin('tunnel_list_versions as v', 'v.owner_id', 'users.id')
      .leftJoin('auth_versions as a', 'a.user_id', 'users.id')
      .selectAll('users')
      .select(sql<number>`coalesce(v.version, 0)`.as('tunnels_version'))
      .select(sql<number>`coalesce(a.version, 0)`.as('auth_version'));
  // Every authenticated request reads its user by id: the query is built once, only its
  // parameter changes; on a SQLite file it runs on the hot reads' connection (database.ts).
  const byIdQuery = select().where('users.id', '=', '').compile();

  const rowOf = (u: NewUser) => ({
    id: randomUUID(),
    name: u.name,
    password_hash: u.passwordHash,
    role: u.role,
    quota_tunnels: null,
    quota_routes: null,
    created_at: now(),
    updated_at: now(),
    kind: u.kind ?? 'person',
    disabled: 0,
    email: u.email ?? null,
    oidc_issuer: u.oidcIssuer ?? null,
    oidc_subject: u.oidcSubject ?? null,
  });

  const byId = hotReads
    ? async (id: string): Promise<UserRow | undefined> => hotReads.get<UserRow>(byIdQuery.sql, [id])
    : async (id: string): Promise<UserRow | undefined> =>
        (await db.executeQuery<UserRow>({ ...byIdQuery, parameters: [id] })).rows[0];
  // The rows `current` hands out, kept while no connection has committed since they were read.
  const currentRows = new Map<string, Readonly<UserRow>>();
  let rowsVersion: number | undefined;

  return {
    /**
     * The user as of the last commit anywhere: what every authenticated request reads. On a
     * SQLite file the row is kept and handed out again (frozen: shared by requests) until any
     * connection has committed (`dataVersion`: the WAL index's header moved), since
     * any commit may be one that changes it (its row, its tokens' or teams' auth version, its
     * tunnels' list version); then every kept row is dropped. Checking that is one `pread` (issue
     * 19: the read was most of a cached answer's cost beyond Fastify's), and it is made
     * by each call, before the row is read, with no await between: a change committed before
     * the call counts, as when every call read the row. Elsewhere (in memory, PostgreSQL) it
     * is `byId`.
     */
    current: hotReads
      ? async (id: string): Promise<Readonly<UserRow> | undefined> => {
          const version = hotReads.dataVersion();
          if (version !== rowsVersion) {
            currentRows.clear();
            rowsVersion = version;
          }
          let row = currentRows.get(id);
          if (row) {
            currentRows.delete(id);
          } else {
            const read = hotReads.get<UserRow>(byIdQuery.sql, [id]);
            if (!read) return undefined;
            row = Object.freeze(read);
            if (currentRows.size >= CURRENT_ROWS) currentRows.delete(currentRows.keys().next().value!);
          }
          currentRows.set(id, row);
          return row;
        }
      : byId,
    byId,
    byName: (name: string): Promise<UserRow | undefined> =>
      select().where('users.name', '=', name).executeTakeFirst(),
    /** People (not teams), by name. */
    list: (): Promise<UserRow[]> =>
      select().where('users.kind', '=', 'person').orderBy('users.name').execute(),
    /** The person an identity provider vouches for (its `iss` and `sub`). */
    byOidc: (issuer: string, subject: string): Promise<UserRow | undefined> =>
      select()
        .where('users.oidc_issuer', '=', issuer)
        .where('users.oidc_subject', '=', subject)
        .executeTakeFirst(),
    /** Enabled admins: at least one must stay. */
    async countAdmins(): Promise<number> {
      const r = await db
        .selectFrom('users')
        .select(db.fn.countAll<number>().as('n'))
        .where('kind', '=', 'person')
        .where('role', '=', 'admin')
        .where('disabled', '=', 0)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    async create(u: NewUser): Promise<UserRow> {
      const row = rowOf(u);
      try {
        await db.insertInto('users').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('user.name_taken', `A user named ${u.name} already exists.`);
        throw err;
      }
      return { ...row, tunnels_version: 0, auth_version: 0 } as UserRow;
    },

    /**
     * Creates the user unless one of that name exists (another replica may be creating it at the
     * same moment); answers the row that is there and whether this call made it.
     */
    async ensure(u: NewUser): Promise<{ user: UserRow; created: boolean }> {
      const res = await db
        .insertInto('users')
        .values(rowOf(u))
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      const user = await select().where('users.name', '=', u.name).executeTakeFirstOrThrow();
      return { user, created: Number(res.numInsertedOrUpdatedRows ?? 0) > 0 };
    },

    async update(
      id: string,
      patch: Partial<
        Pick<
          UserRow,
          'password_hash' | 'role' | 'quota_tunnels' | 'quota_routes' | 'disabled' | 'email' | 'name'
        >
      >,
    ) {
      await db
        .updateTable('users')
        .set({ ...patch, updated_at: now() })
        .where('id', '=', id)
        .execute();
    },

    async remove(id: string) {
      const owned = await db
        .selectFrom('tunnels')
        .select(db.fn.countAll<number>().as('n'))
        .where('owner_id', '=', id)
        .executeTakeFirstOrThrow();
      if (Number(owned.n) > 0) {
        throw new AppError(
          'user.has_tunnels',
          'The user still owns personal tunnels; delete them first (team tunnels stay with their team).',
          { tunnels: Number(owned.n) },
        );
      }
      await db.deleteFrom('users').where('id', '=', id).execute();
    },

    /** Tunnels (not being deleted) and routes (not being deleted, of each kind) the user owns. */
    async usage(id: string): Promise<Quotas> {
      return {
        tunnels: await countTunnels(db, id),
        routes: await countRoutes(db, id),
        protectedRoutes: await countRoutes(db, id, 'protected'),
        tcpRoutes: await countRoutes(db, id, 'tcp'),
      };
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
