/**
 * "Nothing lost, nothing leaked", as data: the desired state the API shows, compared with what
 * the Cloudflare emulator holds, and with what the API acknowledged. Each function returns a
 * list of differences (one readable line each, empty when all is well), so a failing test
 * prints exactly what differs. Only the API's JSON and the emulator's state are read: nothing
 * of the store or the reconciler, so the comparison outlives their rewrites.
 *
 * How allow-lists are enforced is one switch (`AllowListModel`): today's WAF custom rules
 * (per-route Access applications: `accessAllowLists`).
 */
import type { EmulatorState } from '../../src/emulators/cloudflare/index.js';

/** A route as `GET /api/v1/tunnels` shows it (the fields compared). */
export interface ApiRoute {
  name: string;
  hostname: string;
  service: string;
  protocol: string;
  phase: string;
  lastError: string | null;
  allowIps: string[] | null;
  access: { emails: string[]; emailDomains: string[] } | null;
}

/** A tunnel as `GET /api/v1/tunnels` shows it, with its owner's user name. */
export interface ApiTunnel {
  name: string;
  id: string | null;
  owner: string;
  configMode: 'local' | 'remote';
  phase: string;
  lastError: string | null;
  generation: number;
  observedGeneration: number;
  routes: ApiRoute[];
  /** From `GET /api/v1/tunnels/:tunnel/credentials`, when read: what cloudflared would run with. */
  credentials?: { TunnelID: string; TunnelSecret: string };
}

/** How this installation marks what it makes (docs/architecture.md, "Ownership markers"). */
export interface Markers {
  /** The server's `instance` (TUNNELPLANE_INSTANCE). */
  instance: string;
}

const TCP_LIKE = new Set(['tcp', 'ssh', 'rdp', 'smb']);
/** TCP-like routes are reached with `cloudflared access tcp` and always protected by a service token. */
export const isTcpLike = (r: Pick<ApiRoute, 'protocol'>) => TCP_LIKE.has(r.protocol);

const cfTunnelName = (m: Markers, tunnel: string) => `tunnelplane-${m.instance}-${tunnel}`;
const accessName = (m: Markers, tunnel: string, route: string) =>
  `tunnelplane-${m.instance}-${tunnel}-${route}`;
const dnsComment = (m: Markers, tunnel: string, route: string) =>
  `managed-by:tunnelplane/${m.instance} tunnel=${tunnel} route=${route}`;
const label = (t: ApiTunnel, r?: ApiRoute) =>
  r ? `${t.owner}/${t.name}/${r.name} (${r.hostname})` : `${t.owner}/${t.name}`;

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k) ?? [];
    list.push(item);
    out.set(k, list);
  }
  return out;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/** The API itself is settled: every tunnel and route `ready`, every generation observed. */
export function apiSettledDifferences(api: readonly ApiTunnel[]): string[] {
  const out: string[] = [];
  for (const t of api) {
    if (t.phase !== 'ready')
      out.push(`api: tunnel ${label(t)} is ${t.phase}${t.lastError ? ` (${t.lastError})` : ''}`);
    if (t.observedGeneration !== t.generation)
      out.push(`api: tunnel ${label(t)} has generation ${t.generation}, observed ${t.observedGeneration}`);
    if (!t.id) out.push(`api: tunnel ${label(t)} has no Cloudflare id`);
    for (const r of t.routes) {
      if (r.phase !== 'ready')
        out.push(`api: route ${label(t, r)} is ${r.phase}${r.lastError ? ` (${r.lastError})` : ''}`);
    }
  }
  return out;
}

/**
 * Cloudflare tunnels: exactly one live tunnel per API tunnel, with its id, config source and
 * secret (when the credentials were read); nothing else live.
 */
export function tunnelDifferences(api: readonly ApiTunnel[], cf: EmulatorState, m: Markers): string[] {
  const out: string[] = [];
  const live = cf.tunnels.filter((t) => !t.deletedAt);
  const byName = countBy(live, (t) => t.name);
  const wanted = new Set<string>();
  for (const t of api) {
    const name = cfTunnelName(m, t.name);
    wanted.add(name);
    const found = byName.get(name) ?? [];
    if (found.length === 0) {
      out.push(`tunnel: missing Cloudflare tunnel ${name} for ${label(t)}`);
      continue;
    }
    if (found.length > 1) out.push(`tunnel: ${found.length} live Cloudflare tunnels named ${name}`);
    const cft = found[0]!;
    if (t.id && cft.id !== t.id)
      out.push(`tunnel: ${label(t)} says Cloudflare id ${t.id}, the live tunnel ${name} is ${cft.id}`);
    const src = t.configMode === 'remote' ? 'cloudflare' : 'local';
    if (cft.configSrc !== src)
      out.push(`tunnel: ${name} has config_src ${cft.configSrc}, want ${src} (${t.configMode})`);
    if (t.credentials && (t.credentials.TunnelID !== cft.id || t.credentials.TunnelSecret !== cft.secret)) {
      out.push(
        `tunnel: ${label(t)}'s credentials (tunnel ${t.credentials.TunnelID}) do not open the live tunnel ${name} (${cft.id}): wrong id or secret`,
      );
    }
  }
  for (const t of live)
    if (!wanted.has(t.name)) out.push(`tunnel: orphan live Cloudflare tunnel ${t.name} (${t.id})`);
  return out;
}

/** DNS: exactly one proxied CNAME `<tunnel id>.cfargotunnel.com` with our comment per live route; no other record. */
export function dnsDifferences(api: readonly ApiTunnel[], cf: EmulatorState, m: Markers): string[] {
  const out: string[] = [];
  const byName = countBy(cf.dnsRecords, (r) => r.name);
  const wanted = new Set<string>();
  for (const t of api) {
    for (const r of t.routes) {
      wanted.add(r.hostname);
      const found = byName.get(r.hostname) ?? [];
      if (found.length === 0) {
        out.push(`dns: missing record for route ${label(t, r)}`);
        continue;
      }
      if (found.length > 1)
        out.push(
          `dns: ${found.length} records at ${r.hostname} (route ${label(t, r)}): ${found.map((x) => `${x.type} ${x.content}`).join(', ')}`,
        );
      for (const rec of found) {
        const problems: string[] = [];
        if (rec.type !== 'CNAME') problems.push(`type ${rec.type}`);
        if (t.id && rec.content !== `${t.id}.cfargotunnel.com`)
          problems.push(`content ${rec.content}, want ${t.id}.cfargotunnel.com`);
        if (!rec.proxied) problems.push('not proxied');
        if (rec.comment !== dnsComment(m, t.name, r.name))
          problems.push(`comment ${JSON.stringify(rec.comment)}`);
        if (problems.length > 0)
          out.push(`dns: wrong record ${rec.id} at ${r.hostname}: ${problems.join('; ')}`);
      }
    }
  }
  for (const rec of cf.dnsRecords) {
    if (!wanted.has(rec.name))
      out.push(
        `dns: orphan record ${rec.type} ${rec.name} → ${rec.content}${rec.proxied ? ' (proxied)' : ''} comment ${JSON.stringify(rec.comment)}`,
      );
  }
  return out;
}

/** Remote configurations: each remote tunnel's ingress is its live routes, then one catch-all; local tunnels have none. */
export function configurationDifferences(api: readonly ApiTunnel[], cf: EmulatorState, m: Markers): string[] {
  const out: string[] = [];
  const live = new Map(cf.tunnels.filter((t) => !t.deletedAt).map((t) => [t.name, t]));
  for (const t of api) {
    const cft = live.get(cfTunnelName(m, t.name));
    if (!cft) continue; // reported by tunnelDifferences
    const config = cft.configuration?.config as
      { ingress?: Array<{ hostname?: string; service?: string }> } | null | undefined;
    const ingress = config?.ingress ?? null;
    if (t.configMode === 'local') {
      if (ingress !== null)
        out.push(`config: local tunnel ${label(t)} has a remote configuration (${ingress.length} rules)`);
      continue;
    }
    if (ingress === null) {
      // Never pushed: right only while the tunnel has never had a route to serve.
      if (t.routes.length > 0)
        out.push(
          `config: remote tunnel ${label(t)} has no configuration, want ${t.routes.length} routes + catch-all`,
        );
      continue;
    }
    const last = ingress[ingress.length - 1];
    if (!last || last.hostname) out.push(`config: ${label(t)}'s ingress does not end with a catch-all`);
    else if (last.service !== 'http_status:404')
      out.push(`config: ${label(t)}'s catch-all is ${last.service}, want http_status:404`);
    const rules = ingress.slice(0, -1);
    const catchAlls = rules.filter((i) => !i.hostname);
    if (catchAlls.length > 0)
      out.push(
        `config: ${label(t)}'s ingress has ${catchAlls.length} rule(s) without hostname before the end`,
      );
    const byHost = countBy(
      rules.filter((i) => i.hostname),
      (i) => i.hostname!,
    );
    for (const r of t.routes) {
      const found = byHost.get(r.hostname) ?? [];
      if (found.length === 0) out.push(`config: ${label(t)}'s ingress lacks route ${r.hostname}`);
      else if (found.length > 1)
        out.push(`config: ${label(t)}'s ingress has ${found.length} rules for ${r.hostname}`);
      else if (found[0]!.service !== r.service)
        out.push(
          `config: ${label(t)}'s ingress sends ${r.hostname} to ${found[0]!.service}, want ${r.service}`,
        );
    }
    const wanted = new Set(t.routes.map((r) => r.hostname));
    for (const host of byHost.keys())
      if (!wanted.has(host))
        out.push(`config: ${label(t)}'s ingress still routes ${host}, which is no live route of it`);
  }
  return out;
}

/** One Access policy as compared: its decision and rules (names and precedence are not compared). */
export interface PolicyShape {
  decision: string;
  include: unknown[];
  require: unknown[];
}

const policyKey = (p: PolicyShape) =>
  `${p.decision} include ${JSON.stringify(p.include)} require ${JSON.stringify(p.require)}`;

/**
 * The policy a route's application holds apart from allow-lists (null: none): TCP-like,
 * Service Auth admitting only its service token; HTTP with `access`, Allow for its emails and
 * email domains.
 */
export function basePolicy(r: ApiRoute, tokenId: string | undefined): PolicyShape | null {
  if (isTcpLike(r)) {
    return {
      decision: 'non_identity',
      include: [{ service_token: { token_id: tokenId ?? '?' } }],
      require: [],
    };
  }
  if (r.access) {
    const people = [
      ...r.access.emails.map((email) => ({ email: { email } })),
      ...r.access.emailDomains.map((domain) => ({ email_domain: { domain } })),
    ];
    return { decision: 'allow', include: people, require: [] };
  }
  return null;
}

/**
 * How source-IP allow-lists are enforced, in one place, so the comparison follows the product
 * when that changes: the Access policies a route's application must hold given its base policy
 * (null: the route needs no application), and the differences in whatever else enforces them.
 */
export interface AllowListModel {
  name: string;
  policies(r: ApiRoute, base: PolicyShape | null): PolicyShape[] | null;
  differences(api: readonly ApiTunnel[], cf: EmulatorState, m: Markers): string[];
}

/**
 * Allow-lists as per-route Access applications: a protected route's
 * base policy is repeated once per listed range, each requiring that range; an HTTP route with
 * only an allow-list gets one Bypass policy including the ranges; no WAF rule of ours is left.
 */
export const accessAllowLists: AllowListModel = {
  name: 'access',
  policies(r, base) {
    const ranges = r.allowIps ?? [];
    if (!base) {
      return ranges.length > 0
        ? [{ decision: 'bypass', include: ranges.map((ip) => ({ ip: { ip } })), require: [] }]
        : null;
    }
    return ranges.length === 0 ? [base] : ranges.map((ip) => ({ ...base, require: [{ ip: { ip } }] }));
  },
  differences(_api, cf, m) {
    const refPrefix = `tunnelplane-${m.instance}-allowlist-`;
    return cf.rulesets
      .filter((rs) => rs.phase === 'http_request_firewall_custom')
      .flatMap((rs) => rs.rules.filter((r) => r.ref.startsWith(refPrefix)))
      .map((r) => `allow-list: WAF rule ${r.ref} is left over, though allow-lists are Access policies now`);
  },
};

/**
 * Access: exactly one self-hosted application per route that needs one (named for the route, on
 * its hostname) holding exactly the policies `allowLists` says; exactly one service token per
 * TCP-like route; no other application, policy or token.
 */
export function accessDifferences(
  api: readonly ApiTunnel[],
  cf: EmulatorState,
  m: Markers,
  allowLists: AllowListModel = accessAllowLists,
): string[] {
  const out: string[] = [];
  const appsByName = countBy(cf.accessApps, (a) => String(a.fields.name ?? ''));
  const tokensByName = countBy(cf.serviceTokens, (t) => t.name);
  const wantedApps = new Set<string>();
  const wantedTokens = new Set<string>();
  for (const t of api) {
    for (const r of t.routes) {
      const name = accessName(m, t.name, r.name);
      let tokenId: string | undefined;
      if (isTcpLike(r)) {
        wantedTokens.add(name);
        const tokens = tokensByName.get(name) ?? [];
        if (tokens.length === 0) out.push(`access: missing service token ${name} for route ${label(t, r)}`);
        if (tokens.length > 1) out.push(`access: ${tokens.length} service tokens named ${name}`);
        tokenId = tokens[0]?.id;
      }
      const wanted = allowLists.policies(r, basePolicy(r, tokenId));
      if (!wanted) continue;
      wantedApps.add(name);
      const apps = appsByName.get(name) ?? [];
      if (apps.length === 0) {
        out.push(`access: missing application ${name} for route ${label(t, r)}`);
        continue;
      }
      if (apps.length > 1) out.push(`access: ${apps.length} applications named ${name}`);
      for (const app of apps) {
        if (app.fields.domain !== r.hostname)
          out.push(`access: application ${name} is on ${String(app.fields.domain)}, want ${r.hostname}`);
        if (app.fields.type !== 'self_hosted')
          out.push(`access: application ${name} has type ${String(app.fields.type)}, want self_hosted`);
        const held = cf.accessPolicies
          .filter((p) => p.appId === app.id || app.policies.some((l) => l.policyId === p.id))
          .map((p) =>
            policyKey({
              decision: String(p.fields.decision),
              include: (p.fields.include as unknown[] | undefined) ?? [],
              require: (p.fields.require as unknown[] | undefined) ?? [],
            }),
          );
        const want = wanted.map(policyKey);
        if (!sameSet(held, want))
          out.push(`access: application ${name} holds [${held.join('; ')}], want [${want.join('; ')}]`);
      }
    }
  }
  for (const app of cf.accessApps) {
    const name = String(app.fields.name ?? '');
    if (!wantedApps.has(name))
      out.push(`access: orphan application ${name} on ${String(app.fields.domain)} (${app.id})`);
  }
  const appIds = new Set(cf.accessApps.map((a) => a.id));
  for (const p of cf.accessPolicies) {
    if (p.appId !== null && !appIds.has(p.appId))
      out.push(`access: orphan policy ${String(p.fields.name)} of a deleted application ${p.appId}`);
    if (p.appId === null) out.push(`access: unexpected reusable policy ${String(p.fields.name)} (${p.id})`);
  }
  for (const token of cf.serviceTokens)
    if (!wantedTokens.has(token.name)) out.push(`access: orphan service token ${token.name} (${token.id})`);
  return out;
}

/**
 * What should exist: the API's tunnels and routes minus those being deleted (their external
 * objects must be gone, so one stuck `deleting` shows as the orphans it leaves, too).
 */
export function desiredOf(api: readonly ApiTunnel[]): ApiTunnel[] {
  return api
    .filter((t) => t.phase !== 'deleting')
    .map((t) => ({ ...t, routes: t.routes.filter((r) => r.phase !== 'deleting') }));
}

/**
 * Every difference between the API's desired state and the emulator's state (the API settled
 * first); `allowLists` is how allow-lists are enforced (today's WAF rules by default).
 */
export function desiredStateDifferences(
  api: readonly ApiTunnel[],
  cf: EmulatorState,
  m: Markers,
  allowLists: AllowListModel = accessAllowLists,
): string[] {
  const desired = desiredOf(api);
  return [
    ...apiSettledDifferences(api),
    ...tunnelDifferences(desired, cf, m),
    ...dnsDifferences(desired, cf, m),
    ...configurationDifferences(desired, cf, m),
    ...accessDifferences(desired, cf, m, allowLists),
    ...allowLists.differences(desired, cf, m),
  ];
}

// --- What the API acknowledged ------------------------------------------------------------

/**
 * A request's fate as the client saw it: `acked` (2xx), `refused` (4xx: nothing was written),
 * `unknown` (no answer: the server died, or a 5xx; either outcome is acceptable, nothing between).
 */
export type Outcome = 'acked' | 'refused' | 'unknown';

export type RouteKind = 'http' | 'allow' | 'access' | 'tcp' | 'ssh';

export interface LedgerTunnel {
  owner: string;
  name: string;
  configMode: 'local' | 'remote';
  create: Outcome;
  delete?: Outcome;
}

export interface LedgerRoute {
  owner: string;
  tunnel: string;
  name: string;
  kind: RouteKind;
  /** What was asked for (the API answers with these normalised). */
  service: string;
  allowIps: string[] | null;
  access: { emails: string[]; emailDomains: string[] } | null;
  create: Outcome;
  delete?: Outcome;
}

export interface Ledger {
  tunnels: LedgerTunnel[];
  routes: LedgerRoute[];
  /** Answers no request should get (e.g. 404 for an acknowledged tunnel), as lines. */
  anomalies: string[];
}

/** May the object exist, must it, or must it not? */
function expectation(create: Outcome, del: Outcome | undefined): 'present' | 'absent' | 'either' {
  if (create === 'refused' || del === 'acked') return 'absent';
  if (create === 'unknown' || del === 'unknown') return 'either';
  return 'present';
}

/**
 * The API against the ledger: every acknowledged create is there (as asked), every acknowledged
 * delete is gone, unknown requests went either way, and nothing is there that was never asked for.
 */
export function ledgerDifferences(ledger: Ledger, api: readonly ApiTunnel[]): string[] {
  const out: string[] = [...ledger.anomalies.map((a) => `ledger: ${a}`)];
  const tunnels = new Map(api.map((t) => [`${t.owner}/${t.name}`, t]));
  const asked = new Map(ledger.tunnels.map((t) => [`${t.owner}/${t.name}`, t]));
  for (const lt of ledger.tunnels) {
    const key = `${lt.owner}/${lt.name}`;
    const t = tunnels.get(key);
    const want = expectation(lt.create, lt.delete);
    if (want === 'present' && !t)
      out.push(
        `ledger: tunnel ${key} was acknowledged (create ${lt.create}${lt.delete ? `, delete ${lt.delete}` : ''}) but the API no longer has it`,
      );
    if (want === 'absent' && t)
      out.push(
        `ledger: tunnel ${key} should be gone (create ${lt.create}${lt.delete ? `, delete ${lt.delete}` : ''}) but the API shows it ${t.phase}`,
      );
    if (t && t.configMode !== lt.configMode)
      out.push(`ledger: tunnel ${key} is ${t.configMode}, was asked ${lt.configMode}`);
  }
  for (const t of api)
    if (!asked.has(`${t.owner}/${t.name}`))
      out.push(`ledger: tunnel ${t.owner}/${t.name} was never asked for`);

  const askedRoutes = new Map(ledger.routes.map((r) => [`${r.owner}/${r.tunnel}/${r.name}`, r]));
  const routes = new Map<string, ApiRoute>(
    api.flatMap((t) => t.routes.map((r): [string, ApiRoute] => [`${t.owner}/${t.name}/${r.name}`, r])),
  );
  for (const lr of ledger.routes) {
    const key = `${lr.owner}/${lr.tunnel}/${lr.name}`;
    const r = routes.get(key);
    const tunnel = asked.get(`${lr.owner}/${lr.tunnel}`);
    // A route goes with its tunnel: deleting the tunnel deletes it.
    const tunnelDelete = tunnel?.delete;
    let want = expectation(lr.create, lr.delete);
    if (tunnelDelete === 'acked') want = 'absent';
    else if (tunnelDelete === 'unknown' && want === 'present') want = 'either';
    const fate = `create ${lr.create}${lr.delete ? `, delete ${lr.delete}` : ''}${tunnelDelete ? `, tunnel delete ${tunnelDelete}` : ''}`;
    if (want === 'present' && !r)
      out.push(`ledger: ${lr.kind} route ${key} was acknowledged (${fate}) but the API no longer has it`);
    if (want === 'absent' && r)
      out.push(`ledger: ${lr.kind} route ${key} should be gone (${fate}) but the API shows it ${r.phase}`);
    if (!r) continue;
    const problems: string[] = [];
    if (r.service !== lr.service) problems.push(`service ${r.service}, asked ${lr.service}`);
    if (!sameSet(r.allowIps ?? [], lr.allowIps ?? []) || (r.allowIps === null) !== (lr.allowIps === null))
      problems.push(`allowIps ${JSON.stringify(r.allowIps)}, asked ${JSON.stringify(lr.allowIps)}`);
    if (
      (r.access === null) !== (lr.access === null) ||
      (r.access &&
        lr.access &&
        (!sameSet(r.access.emails, lr.access.emails) ||
          !sameSet(r.access.emailDomains, lr.access.emailDomains)))
    ) {
      problems.push(`access ${JSON.stringify(r.access)}, asked ${JSON.stringify(lr.access)}`);
    }
    if (problems.length > 0)
      out.push(`ledger: route ${key} differs from what was asked: ${problems.join('; ')}`);
  }
  for (const [key] of routes) if (!askedRoutes.has(key)) out.push(`ledger: route ${key} was never asked for`);
  return out;
}
