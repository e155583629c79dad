/**
 * The large data set of the API and memory benchmarks, written straight into the store through
 * Kysely in big transactions: users sharing one password hash, converged tunnels (generation =
 * observed_generation, phase ready, a Cloudflare id, a secret sealed with the server key) and
 * ready routes with DNS record ids — what the tables hold after the reconciler has done its
 * work. Optionally, the matching Cloudflare state (tunnels and DNS records), so a reconciler
 * started on this data set finds nothing to do.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import { createSecretBox } from '../src/domain/secret-box.js';
import type { Store } from '../src/store/index.js';
import type { Database } from '../src/store/schema.js';
import { benchPasswordHash } from './stack.js';

export interface DatasetSize {
  users: number;
  tunnels: number;
  routes: number;
}

export const datasetSizes: Record<'quick' | 'full', DatasetSize> = {
  quick: { users: 100, tunnels: 1000, routes: 10_000 },
  full: { users: 1000, tunnels: 10_000, routes: 100_000 },
};

export interface SeededTunnel {
  name: string;
  cfTunnelId: string;
  secret: Buffer;
  routes: Array<{ name: string; hostname: string; service: string; dnsRecordId: string }>;
}

export interface SeededUser {
  id: string;
  name: string;
  tunnels: SeededTunnel[];
}

export interface Dataset {
  size: DatasetSize;
  users: SeededUser[];
  seconds: number;
}

const hex32 = () => randomBytes(16).toString('hex');

async function insertChunks<T extends keyof Database>(
  store: Store,
  table: T,
  rows: Insertable<Database[T]>[],
  columns: number,
) {
  // SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535.
  const chunk = Math.max(1, Math.floor(30_000 / columns));
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += chunk) {
      await trx
        .insertInto(table)
        .values(rows.slice(i, i + chunk) as never)
        .execute();
    }
  });
}

/** Seeds `size` into an empty store; tunnels and routes are spread evenly over users and tunnels. */
export async function seedDataset(
  store: Store,
  opts: { size: DatasetSize; secretKey: string; zoneName: string },
): Promise<Dataset> {
  const started = performance.now();
  const { size } = opts;
  const box = createSecretBox(Buffer.from(opts.secretKey, 'base64'));
  const hash = await benchPasswordHash();
  // Creation times one second apart, in the past, so list order is stable and realistic.
  const base = Date.now() - (size.tunnels + size.routes + size.users) * 1000;
  let clock = 0;
  const at = () => new Date(base + clock++ * 1000).toISOString();

  const users: SeededUser[] = [];
  const userRows: Insertable<Database['users']>[] = [];
  for (let u = 0; u < size.users; u++) {
    const created = at();
    const row = {
      id: randomUUID(),
      name: `bench-user-${String(u).padStart(4, '0')}`,
      password_hash: hash,
      role: 'user' as const,
      created_at: created,
      updated_at: created,
    };
    userRows.push(row);
    users.push({ id: row.id, name: row.name, tunnels: [] });
  }

  const tunnelRows: Insertable<Database['tunnels']>[] = [];
  const routeRows: Insertable<Database['routes']>[] = [];
  const routesPerTunnel = Math.floor(size.routes / size.tunnels);
  for (let t = 0; t < size.tunnels; t++) {
    const owner = users[t % size.users]!;
    const name = `bt${String(t).padStart(5, '0')}`;
    const secret = randomBytes(32);
    const tunnel: SeededTunnel = { name, cfTunnelId: randomUUID(), secret, routes: [] };
    const id = randomUUID();
    const created = at();
    const count = routesPerTunnel + (t < size.routes - routesPerTunnel * size.tunnels ? 1 : 0);
    for (let r = 0; r < count; r++) {
      const j = routeRows.length;
      const route = {
        name: `r${r}`,
        hostname: `r${r}-${name}.${opts.zoneName}`,
        service: `http://10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}:8080`,
        dnsRecordId: hex32(),
      };
      tunnel.routes.push(route);
      const routeCreated = at();
      routeRows.push({
        id: randomUUID(),
        tunnel_id: id,
        name: route.name,
        hostname: route.hostname,
        zone: opts.zoneName,
        service: route.service,
        protocol: 'http',
        phase: 'ready',
        dns_record_id: route.dnsRecordId,
        created_at: routeCreated,
        updated_at: routeCreated,
      });
    }
    tunnelRows.push({
      id,
      owner_id: owner.id,
      name,
      config_mode: 'local',
      secret_sealed: box.seal(secret),
      cf_tunnel_id: tunnel.cfTunnelId,
      // One bump at creation and one per route added, all observed.
      generation: 1 + count,
      observed_generation: 1 + count,
      phase: 'ready',
      created_at: created,
      updated_at: created,
    });
    owner.tunnels.push(tunnel);
  }
  await insertChunks(store, 'users', userRows, 8);
  await insertChunks(store, 'tunnels', tunnelRows, 20);
  await insertChunks(store, 'routes', routeRows, 30);
  return { size, users, seconds: (performance.now() - started) / 1000 };
}
