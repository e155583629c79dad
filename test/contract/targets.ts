/**
 * The two servers the contract holds to one behaviour: the real one (test/support/stack.ts: the
 * runtime with the Cloudflare and Kubernetes emulators, a temporary SQLite database) and the fake
 * the CLI tests use (test/cli/fake-server.ts), started with the options the CLI tests use.
 * Each scenario gets users of its own, so nothing another scenario did shows in its answers.
 */
import {
  startKubernetesEmulator,
  type StartedKubernetesEmulator,
} from '../../src/emulators/kubernetes/index.js';
import { FAKE_OPTIONS, startFakeServer, type FakeServer } from '../cli/fake-server.js';
import { startStack, testHash, type Stack } from '../support/stack.js';

/** Every scenario user's password, on both servers. */
export const PASSWORD = 'contract-password';

export interface Target {
  readonly kind: 'real' | 'fake';
  readonly url: string;
  /** Values that differ between the servers by nature, each with the placeholder it reads as. */
  readonly constants: ReadonlyArray<[value: string, placeholder: string]>;
  /** A new user (password PASSWORD) that no other scenario uses. */
  addUser(name: string, role?: 'user' | 'admin'): Promise<void>;
  /** Cloudflare refuses the next tunnel creation (and its retries, until the scenario ends) with this message. */
  failNextTunnel(message: string): Promise<void>;
  /**
   * Lets the `expiresAt` of a tunnel (or of one of its routes) come now, as a test can only on
   * purpose (the shortest TTL the API takes is a minute).
   */
  expireNow(tunnel: string, route?: string): Promise<void>;
  /** Puts back what a scenario changed beyond its own users (Cloudflare's refusals). */
  afterScenario(): Promise<void>;
  close(): Promise<void>;
}

export async function startRealTarget(): Promise<Target> {
  const k8s: StartedKubernetesEmulator = await startKubernetesEmulator({
    port: 0,
    namespaces: [FAKE_OPTIONS.namespace],
    readyDelayMs: 0,
  });
  let stack: Stack;
  try {
    stack = await startStack({
      kubernetes: { kubeconfig: k8s.kubeconfig(), namespace: FAKE_OPTIONS.namespace },
      // No connectors' health refresh: `connectors` stays null, as on the fake, however long the run.
      config: { reconciler: { healthSeconds: 0 } },
    });
  } catch (err) {
    await k8s.close();
    throw err;
  }
  const hash = await testHash(PASSWORD);
  return {
    kind: 'real',
    url: stack.url,
    constants: [
      [stack.cf.accountId, '<account>'],
      [stack.cf.zoneName, '<zone>'],
    ],
    async addUser(name, role = 'user') {
      await stack.runtime.store.users.ensure({ name, passwordHash: hash, role });
    },
    async failNextTunnel(message) {
      // Until the scenario ends: the reconciler retries soon, and the fake's failure is for good.
      stack.cf.control.addFault({
        method: 'POST',
        path: '/accounts/*/cfd_tunnel',
        times: 1000,
        action: { type: 'error', status: 403, code: 10000, message },
      });
    },
    async expireNow(tunnel, route) {
      const past = new Date(Date.now() - 1000).toISOString();
      const row = await stack.runtime.store.tunnels.byName(tunnel);
      if (!row) throw new Error(`real: no tunnel ${tunnel}`);
      const db = stack.runtime.store.db;
      if (route === undefined)
        await db.updateTable('tunnels').set({ expires_at: past }).where('id', '=', row.id).execute();
      else
        await db
          .updateTable('routes')
          .set({ expires_at: past })
          .where('tunnel_id', '=', row.id)
          .where('name', '=', route)
          .execute();
    },
    async afterScenario() {
      stack.cf.control.clearFaults();
    },
    async close() {
      await stack.stop();
      await k8s.close();
    },
  };
}

export async function startFakeTarget(): Promise<Target> {
  const fake: FakeServer = await startFakeServer(FAKE_OPTIONS);
  // A reconciler that takes a moment, as the real one does: `?wait=0` answers 202, a wait 201.
  fake.setBehaviour({ settleMs: 100 });
  return {
    kind: 'fake',
    url: fake.url,
    constants: [
      [fake.accountTag, '<account>'],
      [fake.zone, '<zone>'],
    ],
    async addUser(name, role = 'user') {
      fake.addUser(name, PASSWORD, role);
    },
    async failNextTunnel(message) {
      fake.setBehaviour({ failNextTunnel: message });
    },
    async expireNow(tunnel, route) {
      fake.expireNow(tunnel, route);
    },
    async afterScenario() {
      fake.setBehaviour({ failNextTunnel: null });
    },
    close: () => fake.close(),
  };
}
