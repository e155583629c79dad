// Storage for one local provider's sessions, interactions, codes and tokens, in memory. Ours
// rather than oidc-provider's bundled one because that one is a module-wide store shared by
// every provider in the process (two test providers would see each other's rows) and the
// library prints a warning when it is used; this one lives and dies with its provider.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Row {
  payload: AdapterPayload;
  expiresAt: number;
}

/** Models whose rows are revoked together when their grant is. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/** An adapter class (oidc-provider calls `new Adapter(modelName)`) over a store of its own. */
export function createMemoryAdapter(now: () => number = Date.now): new (model: string) => Adapter {
  const rows = new Map<string, Row>();
  const byUserCode = new Map<string, string>();
  const bySessionUid = new Map<string, string>();
  const byGrant = new Map<string, Set<string>>();

  function live(key: string): AdapterPayload | undefined {
    const row = rows.get(key);
    if (!row) return undefined;
    if (row.expiresAt <= now()) {
      rows.delete(key);
      return undefined;
    }
    return row.payload;
  }

  function sweep(): void {
    const t = now();
    for (const [key, row] of rows) if (row.expiresAt <= t) rows.delete(key);
  }

  return class MemoryAdapter implements Adapter {
    constructor(private readonly model: string) {}

    private key(id: string): string {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      sweep();
      const key = this.key(id);
      rows.set(key, { payload, expiresAt: now() + expiresIn * 1000 });
      if (this.model === 'Session' && payload.uid) bySessionUid.set(payload.uid, id);
      if (payload.userCode) byUserCode.set(payload.userCode, id);
      if (GRANTABLE.has(this.model) && payload.grantId) {
        const keys = byGrant.get(payload.grantId) ?? new Set<string>();
        keys.add(key);
        byGrant.set(payload.grantId, keys);
      }
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return live(this.key(id));
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = byUserCode.get(userCode);
      return id === undefined ? undefined : live(this.key(id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = bySessionUid.get(uid);
      return id === undefined ? undefined : live(this.key(id));
    }

    async consume(id: string): Promise<void> {
      const payload = live(this.key(id));
      if (payload) payload.consumed = Math.floor(now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      rows.delete(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of byGrant.get(grantId) ?? []) rows.delete(key);
      byGrant.delete(grantId);
    }
  };
}
