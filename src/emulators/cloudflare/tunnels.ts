// Cloudflare Tunnel endpoints (`/accounts/:account/cfd_tunnel…`, reference §2) and the
// simulated cloudflared connectors behind `status`. Invariants: names are unique among an
// account's non-deleted tunnels; deleting only stamps `deleted_at`; a tunnel with live
// connections cannot be deleted (1022) unless `cascade=true`; every configuration PUT is
// validated like cloudflared does and bumps `version`.
import { Buffer } from 'node:buffer';
import { ControlError, apiErrors } from './errors.js';
import { timestamp, uuid, base64Secret, UUID } from './ids.js';
import { bodyObject, fields, isObject, pageRequest, paginate, queryBool } from './input.js';
import { validateIngressConfig } from './ingress-validation.js';
import { route, type Route, type RouteContext } from './router.js';
import type { ConnectorRow, Store, TunnelRow } from './state.js';

export type TunnelStatus = 'inactive' | 'degraded' | 'healthy' | 'down';

/** Options for a simulated cloudflared connector. */
export interface AttachConnectorOptions {
  /** Connector (client) id; default a random UUID. */
  connectorId?: string;
  /** Connections the connector opens, 1–16 (cloudflared opens 4); fewer than 4 in total means `degraded`. */
  connections?: number;
  /** cloudflared version reported; default `2026.8.2`. */
  version?: string;
  /** Default `linux_amd64`. */
  arch?: string;
  /** Default `203.0.113.10`. */
  originIp?: string;
  /** Colo names used round-robin for the connections. */
  colos?: string[];
}

const DEFAULT_COLOS = ['ams01', 'fra07', 'ams08', 'fra10'];
const HEALTHY_CONNECTIONS = 4;
/** Cap on simulated connections per connector (cloudflared opens 4; `--ha-connections` rarely more). */
const MAX_CONNECTIONS = 16;

// --- Rendering ----------------------------------------------------------------------------

function activeConnections(tunnel: TunnelRow): number {
  return tunnel.connectors.reduce((sum, c) => sum + c.conns.length, 0);
}

export function tunnelStatus(tunnel: TunnelRow): TunnelStatus {
  if (tunnel.activity.length === 0) return 'inactive';
  const conns = activeConnections(tunnel);
  if (conns === 0) return 'down';
  return conns < HEALTHY_CONNECTIONS ? 'degraded' : 'healthy';
}

function renderConnections(tunnel: TunnelRow) {
  return tunnel.connectors.flatMap((connector) =>
    connector.conns.map((conn) => ({
      id: conn.id,
      uuid: conn.id,
      client_id: connector.id,
      client_version: connector.version,
      colo_name: conn.coloName,
      is_pending_reconnect: false,
      opened_at: conn.openedAt,
      origin_ip: connector.originIp,
    })),
  );
}

export function renderTunnel(tunnel: TunnelRow): Record<string, unknown> {
  const current = tunnel.activity.at(-1);
  const connected = current !== undefined && current.to === null;
  return {
    id: tunnel.id,
    account_tag: tunnel.accountId,
    created_at: tunnel.createdAt,
    deleted_at: tunnel.deletedAt,
    name: tunnel.name,
    connections: renderConnections(tunnel),
    conns_active_at: connected ? current.from : null,
    conns_inactive_at: connected ? null : (current?.to ?? tunnel.createdAt),
    tun_type: 'cfd_tunnel',
    metadata: {},
    status: tunnelStatus(tunnel),
    remote_config: tunnel.configSrc === 'cloudflare',
    config_src: tunnel.configSrc,
  };
}

function renderClient(connector: ConnectorRow) {
  return {
    id: connector.id,
    arch: connector.arch,
    version: connector.version,
    run_at: connector.runAt,
    config_version: connector.configVersion,
    features: connector.features,
    conns: connector.conns.map((conn) => ({
      id: conn.id,
      uuid: conn.id,
      client_id: connector.id,
      client_version: connector.version,
      colo_name: conn.coloName,
      is_pending_reconnect: false,
      opened_at: conn.openedAt,
      origin_ip: connector.originIp,
    })),
  };
}

function renderConfiguration(tunnel: TunnelRow) {
  return {
    tunnel_id: tunnel.id,
    account_id: tunnel.accountId,
    version: tunnel.configuration.version,
    config: tunnel.configuration.config,
    source: tunnel.configuration.version > 0 ? 'cloudflare' : tunnel.configSrc,
    created_at: tunnel.configuration.createdAt,
  };
}

/** `base64(JSON{a,s,t})`, the string `cloudflared tunnel run --token` takes (§2.4). */
export function tunnelToken(tunnel: TunnelRow): string {
  return Buffer.from(JSON.stringify({ a: tunnel.accountId, s: tunnel.secret, t: tunnel.id })).toString(
    'base64',
  );
}

// --- Lookups and validation --------------------------------------------------------------

function findTunnel(store: Store, accountId: string, id: string | undefined): TunnelRow {
  if (!id || !UUID.test(id)) throw apiErrors.tunnelNotFound();
  const tunnel = store.state.tunnels.find((t) => t.id === id && t.accountId === accountId);
  if (!tunnel) throw apiErrors.tunnelNotFound();
  return tunnel;
}

function findLiveTunnel(store: Store, accountId: string, id: string | undefined): TunnelRow {
  const tunnel = findTunnel(store, accountId, id);
  if (tunnel.deletedAt) throw apiErrors.tunnelNotFound();
  return tunnel;
}

/** Standard, padded base64 of at least 32 bytes, as cloudflared requires. */
function checkSecret(secret: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(secret) || secret.length % 4 !== 0) {
    throw apiErrors.tunnelInvalid('tunnel_secret must be standard base64');
  }
  if (Buffer.from(secret, 'base64').length < 32) {
    throw apiErrors.tunnelInvalid('tunnel_secret must be at least 32 bytes encoded as base64');
  }
  return secret;
}

function checkNameFree(store: Store, accountId: string, name: string, self?: TunnelRow): void {
  const taken = store.state.tunnels.some(
    (t) => t.accountId === accountId && !t.deletedAt && t.name === name && t !== self,
  );
  if (taken) throw apiErrors.tunnelNameTaken();
}

function timeFilter(ctx: RouteContext, key: string): number | undefined {
  const raw = ctx.query.get(key);
  if (raw === null || raw === '') return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw apiErrors.tunnelInvalid(`${key} must be an RFC 3339 timestamp`);
  return at;
}

function activeAt(tunnel: TunnelRow, at: number): boolean {
  return tunnel.activity.some((p) => Date.parse(p.from) <= at && (p.to === null || Date.parse(p.to) > at));
}

function closeActivity(tunnel: TunnelRow): void {
  const current = tunnel.activity.at(-1);
  if (current && current.to === null && activeConnections(tunnel) === 0) current.to = timestamp();
}

// --- Handlers ----------------------------------------------------------------------------

function listTunnels(store: Store, ctx: RouteContext) {
  const q = ctx.query;
  const accountId = ctx.params.account ?? '';
  const isDeleted = queryBool(q, 'is_deleted');
  const name = q.get('name');
  const id = q.get('uuid');
  const include = q.get('include_prefix') ?? q.get('name_prefix');
  const exclude = q.get('exclude_prefix');
  const status = q.get('status');
  const existedAt = timeFilter(ctx, 'existed_at');
  const wasActiveAt = timeFilter(ctx, 'was_active_at');
  const wasInactiveAt = timeFilter(ctx, 'was_inactive_at');

  const matches = store.state.tunnels.filter((t) => {
    if (t.accountId !== accountId) return false;
    if (isDeleted === true && !t.deletedAt) return false;
    if (isDeleted === false && t.deletedAt) return false;
    if (name && t.name !== name) return false;
    if (id && t.id !== id.toLowerCase()) return false;
    if (include && !t.name.startsWith(include)) return false;
    if (exclude && t.name.startsWith(exclude)) return false;
    if (status && tunnelStatus(t) !== status) return false;
    if (existedAt !== undefined) {
      if (Date.parse(t.createdAt) > existedAt) return false;
      if (t.deletedAt && Date.parse(t.deletedAt) <= existedAt) return false;
    }
    if (wasActiveAt !== undefined && !activeAt(t, wasActiveAt)) return false;
    if (
      wasInactiveAt !== undefined &&
      (Date.parse(t.createdAt) > wasInactiveAt || activeAt(t, wasInactiveAt))
    ) {
      return false;
    }
    return true;
  });
  const page = paginate(matches, pageRequest(q, { defaultPerPage: 20, maxPerPage: 1000 }));
  return { ...page, result: page.result.map(renderTunnel) };
}

export function tunnelRoutes(store: Store): Route[] {
  const base = '/accounts/:account/cfd_tunnel';
  const account = (ctx: RouteContext) => ctx.params.account ?? '';

  return [
    route('POST', base, 'tunnels', (ctx) => {
      const body = bodyObject(ctx.body, apiErrors.tunnelInvalid);
      const f = fields(body, apiErrors.tunnelInvalid);
      const name = f.string('name', { required: true }) ?? '';
      if (name.trim() === '') throw apiErrors.tunnelInvalid('name must not be empty');
      const configSrc = f.string('config_src') ?? 'local';
      if (configSrc !== 'local' && configSrc !== 'cloudflare') {
        throw apiErrors.tunnelInvalid('config_src must be one of: local, cloudflare');
      }
      const given = f.string('tunnel_secret');
      const secret = given === undefined ? base64Secret(32) : checkSecret(given);
      checkNameFree(store, account(ctx), name);

      const createdAt = timestamp();
      const tunnel: TunnelRow = {
        id: uuid(),
        accountId: account(ctx),
        name,
        createdAt,
        deletedAt: null,
        configSrc,
        secret,
        configuration: { version: 0, config: null, createdAt: null },
        connectors: [],
        activity: [],
      };
      store.state.tunnels.push(tunnel);
      const result: Record<string, unknown> = renderTunnel(tunnel);
      if (configSrc === 'cloudflare') {
        result.credentials_file = {
          AccountTag: tunnel.accountId,
          TunnelID: tunnel.id,
          TunnelName: tunnel.name,
          TunnelSecret: tunnel.secret,
        };
        result.token = tunnelToken(tunnel);
      }
      return { result };
    }),

    route('GET', base, 'tunnels', (ctx) => listTunnels(store, ctx)),
    route('GET', '/accounts/:account/tunnels', 'tunnels', (ctx) => listTunnels(store, ctx)),

    route('GET', `${base}/:tunnel`, 'tunnels', (ctx) => ({
      result: renderTunnel(findTunnel(store, account(ctx), ctx.params.tunnel)),
    })),

    route('PATCH', `${base}/:tunnel`, 'tunnels', (ctx) => {
      const tunnel = findLiveTunnel(store, account(ctx), ctx.params.tunnel);
      const f = fields(bodyObject(ctx.body, apiErrors.tunnelInvalid), apiErrors.tunnelInvalid);
      const name = f.string('name');
      const secret = f.string('tunnel_secret');
      if (name !== undefined) {
        if (name.trim() === '') throw apiErrors.tunnelInvalid('name must not be empty');
        checkNameFree(store, account(ctx), name, tunnel);
      }
      if (secret !== undefined) checkSecret(secret);
      if (name !== undefined) tunnel.name = name;
      if (secret !== undefined) tunnel.secret = secret;
      return { result: renderTunnel(tunnel) };
    }),

    route('DELETE', `${base}/:tunnel`, 'tunnels', (ctx) => {
      const tunnel = findLiveTunnel(store, account(ctx), ctx.params.tunnel);
      const cascade = queryBool(ctx.query, 'cascade') === true;
      if (activeConnections(tunnel) > 0) {
        if (!cascade) throw apiErrors.tunnelHasConnections();
        tunnel.connectors = [];
        closeActivity(tunnel);
      }
      tunnel.deletedAt = timestamp();
      return { result: renderTunnel(tunnel) };
    }),

    route('GET', `${base}/:tunnel/token`, 'tunnels', (ctx) => ({
      result: tunnelToken(findLiveTunnel(store, account(ctx), ctx.params.tunnel)),
    })),

    route('GET', `${base}/:tunnel/configurations`, 'tunnels', (ctx) => ({
      result: renderConfiguration(findLiveTunnel(store, account(ctx), ctx.params.tunnel)),
    })),

    route('PUT', `${base}/:tunnel/configurations`, 'tunnels', (ctx) => {
      const tunnel = findLiveTunnel(store, account(ctx), ctx.params.tunnel);
      const body = bodyObject(ctx.body, apiErrors.tunnelInvalid);
      const config = body.config;
      if (!isObject(config))
        throw apiErrors.badConfiguration("The config file doesn't contain any ingress rules");
      const problem = validateIngressConfig(config);
      if (problem) throw apiErrors.badConfiguration(problem);
      tunnel.configuration = {
        version: tunnel.configuration.version + 1,
        config: structuredClone(config),
        createdAt: timestamp(),
      };
      return { result: renderConfiguration(tunnel) };
    }),

    route('GET', `${base}/:tunnel/connections`, 'tunnels', (ctx) => ({
      result: findLiveTunnel(store, account(ctx), ctx.params.tunnel).connectors.map(renderClient),
    })),

    route('DELETE', `${base}/:tunnel/connections`, 'tunnels', (ctx) => {
      const tunnel = findLiveTunnel(store, account(ctx), ctx.params.tunnel);
      const clientId = ctx.query.get('client_id');
      tunnel.connectors = clientId ? tunnel.connectors.filter((c) => c.id !== clientId) : [];
      closeActivity(tunnel);
      return { result: {} };
    }),

    route('GET', `${base}/:tunnel/connectors/:connector`, 'tunnels', (ctx) => {
      const tunnel = findLiveTunnel(store, account(ctx), ctx.params.tunnel);
      const connector = tunnel.connectors.find((c) => c.id === ctx.params.connector);
      if (!connector) throw apiErrors.connectorNotFound();
      return { result: renderClient(connector) };
    }),

    route('POST', `${base}/:tunnel/management`, 'tunnels', (ctx) => {
      const tunnel = findLiveTunnel(store, account(ctx), ctx.params.tunnel);
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const exp = Math.floor(Date.now() / 1000) + 300;
      const token = `${encode({ alg: 'ES256', typ: 'JWT' })}.${encode({ tun: { id: tunnel.id, account_tag: tunnel.accountId }, exp })}.${base64Secret(48).replace(/[+/=]/g, '')}`;
      return { result: token };
    }),
  ];
}

// --- Simulated connectors (control operations) --------------------------------------------

function liveTunnelForControl(store: Store, tunnelId: string): TunnelRow {
  const tunnel = store.state.tunnels.find((t) => t.id === tunnelId);
  if (!tunnel) throw new ControlError(`unknown tunnel ${tunnelId}`, 404);
  if (tunnel.deletedAt) throw new ControlError(`tunnel ${tunnelId} is deleted`, 409);
  return tunnel;
}

/** Connects a simulated cloudflared to the tunnel; returns the connector id. */
export function attachConnector(store: Store, tunnelId: string, opts: AttachConnectorOptions = {}): string {
  const tunnel = liveTunnelForControl(store, tunnelId);
  const id = opts.connectorId ?? uuid();
  if (tunnel.connectors.some((c) => c.id === id))
    throw new ControlError(`connector ${id} is already attached`, 409);
  const count = opts.connections ?? HEALTHY_CONNECTIONS;
  if (!Number.isInteger(count) || count < 1 || count > MAX_CONNECTIONS) {
    throw new ControlError(`connections must be an integer from 1 to ${MAX_CONNECTIONS}`);
  }
  const colos = opts.colos?.length ? opts.colos : DEFAULT_COLOS;
  const now = timestamp();
  const wasConnected = activeConnections(tunnel) > 0;
  tunnel.connectors.push({
    id,
    arch: opts.arch ?? 'linux_amd64',
    version: opts.version ?? '2026.8.2',
    runAt: now,
    configVersion: tunnel.configuration.version,
    features: ['ha-origin', 'serialized_headers', 'support_datagram_v3'],
    originIp: opts.originIp ?? '203.0.113.10',
    conns: Array.from({ length: count }, (_, i) => ({
      id: uuid(),
      coloName: colos[i % colos.length] ?? 'ams01',
      openedAt: now,
    })),
  });
  if (!wasConnected) tunnel.activity.push({ from: now, to: null });
  store.changed();
  return id;
}

/** Disconnects one connector, or all of them when `connectorId` is omitted. */
export function detachConnector(store: Store, tunnelId: string, connectorId?: string): void {
  const tunnel = store.state.tunnels.find((t) => t.id === tunnelId);
  if (!tunnel) throw new ControlError(`unknown tunnel ${tunnelId}`, 404);
  if (connectorId !== undefined && !tunnel.connectors.some((c) => c.id === connectorId)) {
    throw new ControlError(`connector ${connectorId} is not attached to tunnel ${tunnelId}`, 404);
  }
  tunnel.connectors = connectorId === undefined ? [] : tunnel.connectors.filter((c) => c.id !== connectorId);
  closeActivity(tunnel);
  store.changed();
}
