/**
 * Cloudflare tunnels of the account and their remote configuration. We find our tunnels by
 * name (our marker), so a listing keeps only live tunnels under the prefix; an unknown tunnel
 * counts as deleted.
 */
import type { IngressRule } from '../../domain/cloudflared-files.js';
import { ignoreNotFound, orNull } from './errors.js';
import type { CloudflareClient } from './sdk-client.js';

export interface TunnelConnection {
  colo: string;
  clientVersion: string;
  originIp: string;
  openedAt: string;
}

export interface CloudflareTunnelInfo {
  id: string;
  name: string;
  /** `inactive` (never ran), `healthy`, `degraded`, `down`. */
  status: string;
  /** When Cloudflare made it (ISO 8601; null if it did not say). */
  createdAt: string | null;
  /** The connections the listing shows (Cloudflare marks the field deprecated: it may be empty). */
  connections: TunnelConnection[];
}

export interface TunnelsApi {
  createTunnel(
    name: string,
    secret: Buffer,
    configSrc: 'local' | 'cloudflare',
  ): Promise<CloudflareTunnelInfo>;
  /** The live (not deleted) tunnel with exactly this name, or null. */
  findTunnel(name: string): Promise<CloudflareTunnelInfo | null>;
  /** Every live tunnel whose name starts with `prefix`, with its status and connections (1 call per 1,000). */
  listTunnels(prefix: string): Promise<CloudflareTunnelInfo[]>;
  /** Deletes a tunnel; an unknown or already deleted tunnel counts as done. */
  deleteTunnel(id: string): Promise<void>;
  cleanConnections(id: string): Promise<void>;
  putConfiguration(id: string, ingress: IngressRule[]): Promise<{ version: number }>;
  getConfiguration(id: string): Promise<{ version: number; ingress: IngressRule[] } | null>;
}

interface RawTunnel {
  id?: string;
  name?: string;
  status?: string;
  created_at?: string | null;
  deleted_at?: string | null;
  connections?: Array<{
    colo_name?: string;
    client_version?: string;
    origin_ip?: string;
    opened_at?: string;
  }> | null;
}

const toTunnel = (t: RawTunnel): CloudflareTunnelInfo => ({
  id: t.id ?? '',
  name: t.name ?? '',
  status: t.status ?? '',
  createdAt: t.created_at ?? null,
  connections: (t.connections ?? []).map((c) => ({
    colo: c.colo_name ?? '',
    clientVersion: c.client_version ?? '',
    originIp: c.origin_ip ?? '',
    openedAt: c.opened_at ?? '',
  })),
});

/** Tunnels per listing call (Cloudflare's most). */
const LIST_PAGE = 1000;

export function createTunnelsApi({ sdk, accountId, guard }: CloudflareClient): TunnelsApi {
  const tunnels = sdk.zeroTrust.tunnels.cloudflared;
  return {
    createTunnel: (name, secret, configSrc) =>
      guard(`create tunnel ${name}`, async () =>
        toTunnel(
          (await tunnels.create({
            account_id: accountId,
            name,
            config_src: configSrc,
            tunnel_secret: secret.toString('base64'),
          })) as RawTunnel,
        ),
      ),

    findTunnel: (name) =>
      guard(`find tunnel ${name}`, async () => {
        const page = await tunnels.list({ account_id: accountId, name, is_deleted: false, per_page: 50 });
        const match = (page.result as RawTunnel[]).find((t) => t.name === name && !t.deleted_at);
        return match ? toTunnel(match) : null;
      }),

    listTunnels: (prefix) =>
      guard('list tunnels', async () => {
        const out: CloudflareTunnelInfo[] = [];
        // Page by page, stopping at the last: the SDK's iterator would ask for one more, empty.
        for (let page = 1; ; page++) {
          const res = await tunnels.list({
            account_id: accountId,
            include_prefix: prefix,
            is_deleted: false,
            per_page: LIST_PAGE,
            page,
          });
          const rows = res.result as RawTunnel[];
          for (const raw of rows)
            if (raw.name?.startsWith(prefix) && !raw.deleted_at) out.push(toTunnel(raw));
          // A short page is the last; so is one that reaches the total Cloudflare states.
          const total = (res.result_info as { total_count?: number } | undefined)?.total_count;
          if (rows.length < LIST_PAGE || (total !== undefined && page * LIST_PAGE >= total)) return out;
        }
      }),

    deleteTunnel: (id) =>
      guard(`delete tunnel ${id}`, () => ignoreNotFound(() => tunnels.delete(id, { account_id: accountId }))),

    cleanConnections: (id) =>
      guard(`clean connections of tunnel ${id}`, () =>
        ignoreNotFound(() => tunnels.connections.delete(id, { account_id: accountId })),
      ),

    putConfiguration: (id, ingress) =>
      guard(`configure tunnel ${id}`, async () => {
        const res = await tunnels.configurations.update(id, {
          account_id: accountId,
          // The SDK's type wants a hostname on every rule; the catch-all has none (cloudflared omits it).
          config: { ingress: ingress as Array<{ hostname: string; service: string }> },
        });
        return { version: Number((res as { version?: number }).version ?? 0) };
      }),

    getConfiguration: (id) =>
      guard(`read configuration of tunnel ${id}`, () =>
        orNull(async () => {
          const res = (await tunnels.configurations.get(id, { account_id: accountId })) as {
            version?: number;
            config?: { ingress?: IngressRule[] } | null;
          };
          return { version: Number(res.version ?? 0), ingress: res.config?.ingress ?? [] };
        }),
      ),
  };
}
