// The emulator's whole world as one plain JSON value: accounts, zones, API tokens and every
// resource the endpoints manage. Handlers mutate `store.state` in place; `reset` swaps in a
// fresh copy of the initial state. Rows use the emulator's own camelCase model; the wire
// format is produced by each resource module's render function.
import type { Plan } from './plans.js';

/** Permission areas a token can be granted, one per API family. */
export type Area = 'tunnels' | 'dns' | 'zones' | 'rulesets' | 'access';
export type AreaAccess = 'read' | 'edit';
export const areas: readonly Area[] = ['tunnels', 'dns', 'zones', 'rulesets', 'access'];

export interface AccountRow {
  id: string;
  name: string;
}

export interface ZoneRow {
  id: string;
  name: string;
  accountId: string;
  plan: Plan;
  createdOn: string;
  /**
   * DNS records this zone may hold when not its plan's: a Free zone created before 2024-09-01
   * holds 1,000, not 200 (reference §3.2). Each zone counts its own records.
   */
  recordQuota?: number;
}

export interface ApiTokenRow {
  /** Token id (32 hex), as `/tokens/verify` reports it. */
  id: string;
  value: string;
  accountId: string;
  /** Zones the token may touch (all of them must belong to `accountId`). */
  zoneIds: string[];
  permissions: Partial<Record<Area, AreaAccess>>;
}

export interface ConnectionRow {
  id: string;
  coloName: string;
  openedAt: string;
}

export interface ConnectorRow {
  id: string;
  arch: string;
  version: string;
  runAt: string;
  configVersion: number;
  features: string[];
  originIp: string;
  conns: ConnectionRow[];
}

export interface TunnelConfiguration {
  version: number;
  config: Record<string, unknown> | null;
  createdAt: string | null;
}

export interface TunnelRow {
  id: string;
  accountId: string;
  name: string;
  createdAt: string;
  deletedAt: string | null;
  configSrc: 'local' | 'cloudflare';
  /** Standard base64 of the secret bytes. */
  secret: string;
  configuration: TunnelConfiguration;
  connectors: ConnectorRow[];
  /** Periods with at least one connection; `to` is null while connected. */
  activity: Array<{ from: string; to: string | null }>;
}

export interface DnsRecordRow {
  id: string;
  zoneId: string;
  type: string;
  name: string;
  content: string;
  proxied: boolean;
  ttl: number;
  priority?: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
  createdOn: string;
  modifiedOn: string;
  commentModifiedOn?: string;
  tagsModifiedOn?: string;
}

export interface RuleRow {
  id: string;
  ref: string;
  version: number;
  action: string;
  expression: string;
  description?: string;
  enabled: boolean;
  actionParameters?: Record<string, unknown>;
  logging?: Record<string, unknown>;
  lastUpdated: string;
}

export interface RulesetRow {
  id: string;
  zoneId: string;
  name: string;
  description: string;
  kind: 'zone';
  phase: string;
  version: number;
  lastUpdated: string;
  rules: RuleRow[];
}

export interface AccessAppRow {
  id: string;
  accountId: string;
  aud: string;
  createdAt: string;
  updatedAt: string;
  /** Every field the client sent, minus `policies`, with defaults filled in. */
  fields: Record<string, unknown>;
  /** Linked policies (reusable or app-scoped) in precedence order. */
  policies: Array<{ policyId: string; precedence: number }>;
}

export interface AccessPolicyRow {
  id: string;
  accountId: string;
  /** null for a reusable policy; the owning application for an app-scoped one. */
  appId: string | null;
  createdAt: string;
  updatedAt: string;
  /** name, decision, include, exclude, require and the optional policy fields. */
  fields: Record<string, unknown>;
}

export interface ServiceTokenRow {
  id: string;
  accountId: string;
  name: string;
  clientId: string;
  clientSecret: string;
  duration: string;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface EmulatorState {
  version: 1;
  accounts: AccountRow[];
  zones: ZoneRow[];
  apiTokens: ApiTokenRow[];
  tunnels: TunnelRow[];
  dnsRecords: DnsRecordRow[];
  rulesets: RulesetRow[];
  accessApps: AccessAppRow[];
  accessPolicies: AccessPolicyRow[];
  serviceTokens: ServiceTokenRow[];
}

/** The account, zone and token the emulator was started with. */
export interface PrimaryIdentity {
  accountId: string;
  zoneId: string;
  zoneName: string;
  plan: Plan;
  token: string;
  tokenId: string;
}

/** Holds the live state; every module reads `store.state` at call time. */
export interface Store {
  state: EmulatorState;
  readonly primary: PrimaryIdentity;
  /** Called after every change, so the state file (if any) gets rewritten. */
  changed(): void;
}

export const fullAccess: Record<Area, AreaAccess> = {
  tunnels: 'edit',
  dns: 'edit',
  zones: 'edit',
  rulesets: 'edit',
  access: 'edit',
};

export function initialState(primary: PrimaryIdentity, createdOn: string): EmulatorState {
  return {
    version: 1,
    accounts: [{ id: primary.accountId, name: 'Emulated account' }],
    zones: [
      {
        id: primary.zoneId,
        name: primary.zoneName,
        accountId: primary.accountId,
        plan: primary.plan,
        createdOn,
      },
    ],
    apiTokens: [
      {
        id: primary.tokenId,
        value: primary.token,
        accountId: primary.accountId,
        zoneIds: [primary.zoneId],
        permissions: { ...fullAccess },
      },
    ],
    tunnels: [],
    dnsRecords: [],
    rulesets: [],
    accessApps: [],
    accessPolicies: [],
    serviceTokens: [],
  };
}

export function cloneState(state: EmulatorState): EmulatorState {
  return structuredClone(state);
}

/**
 * Reads a state file's content. Throws with the reason when it is not a state this
 * version wrote, so a typo in `--state` fails at start rather than at the first request.
 */
export function parseState(text: string): EmulatorState {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== 1) {
    throw new Error('not a Cloudflare emulator state file (expected {"version":1,…})');
  }
  const state = value as EmulatorState;
  for (const key of [
    'accounts',
    'zones',
    'apiTokens',
    'tunnels',
    'dnsRecords',
    'rulesets',
    'accessApps',
    'accessPolicies',
    'serviceTokens',
  ] as const) {
    if (!Array.isArray(state[key])) throw new Error(`state file: "${key}" must be an array`);
  }
  if (state.accounts.length === 0 || state.zones.length === 0 || state.apiTokens.length === 0) {
    throw new Error('state file: needs at least one account, zone and API token');
  }
  return state;
}
