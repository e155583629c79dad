import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseEmulateArgs, runKubernetesEmulatorCommand } from './cli.js';
import type { StartedKubernetesEmulator } from './index.js';
import { startKubernetesEmulator } from './index.js';

let emu: StartedKubernetesEmulator;
const NS = 'team-a';

beforeAll(async () => {
  emu = await startKubernetesEmulator({
    namespaces: [NS, 'default'],
    token: 'admin-token',
    readyDelayMs: 10,
  });
});
afterAll(() => emu.close());
beforeEach(() => emu.control.reset());

async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  token = emu.token,
) {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

async function control(method: string, route: string, body?: string) {
  const res = await fetch(`${emu.url}/__emulator/${route}`, {
    method,
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const secret = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS, labels },
  stringData: { token: 'x' },
});

describe('in-process control handle', () => {
  it('exposes URL, token, first namespace and a kubeconfig', () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.token).toBe('admin-token');
    expect(emu.namespace).toBe(NS);
    const config = emu.kubeconfig({ token: 't2', namespace: 'default' });
    expect(config).toContain(`server: ${emu.url}`);
    expect(config).toContain('insecure-skip-tls-verify: true');
    expect(config).toContain('token: t2');
    expect(config).toContain('namespace: default');
  });

  it('puts and deletes objects out of band (drift), filters objects and journals requests', async () => {
    const put = emu.control.putObject(secret('s1', { route: 'r1' }));
    expect(put.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(put['data']).toEqual({ token: 'eA==' });
    emu.control.putObject(secret('s2', { route: 'r2' }));
    expect(
      emu.control.objects({ kind: 'secrets', labels: { route: 'r1' } }).map((o) => o.metadata.name),
    ).toEqual(['s1']);
    expect(
      emu.control.objects({ kind: 'Secret', labels: 'route notin (r1)' }).map((o) => o.metadata.name),
    ).toEqual(['s2']);
    expect(emu.control.objects({ namespace: NS }).map((o) => o.kind)).toEqual(['Secret', 'Secret']);

    expect(emu.control.deleteObject('secret', NS, 's1')).toBe(true);
    expect(emu.control.deleteObject('secret', NS, 's1')).toBe(false);
    expect((await api('GET', `/api/v1/namespaces/${NS}/secrets/s1`)).status).toBe(404);

    const requests = emu.control.requests({ path: `/api/v1/namespaces/${NS}/secrets/*` });
    expect(requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        status: 404,
        user: 'kubernetes-admin',
        path: `/api/v1/namespaces/${NS}/secrets/s1`,
      }),
    ]);
    emu.control.clearRequests();
    expect(emu.control.requests()).toEqual([]);
    expect(() =>
      emu.control.putObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'Bad' } }),
    ).toThrow(/is invalid/);
  });

  it('injects faults for N matching requests', async () => {
    emu.control.addFault({ method: 'POST', path: `/api/v1/namespaces/${NS}/secrets`, status: 503, times: 2 });
    emu.control.addFault({ path: /\/pods$/, status: 429, retryAfterSeconds: 1, times: Infinity });
    const first = await api('POST', `/api/v1/namespaces/${NS}/secrets`, secret('s'));
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'ServiceUnavailable',
      code: 503,
    });
    expect((await api('POST', `/api/v1/namespaces/${NS}/secrets`, secret('s'))).status).toBe(503);
    expect((await api('POST', `/api/v1/namespaces/${NS}/secrets`, secret('s'))).status).toBe(201);
    expect((await api('GET', `/api/v1/namespaces/${NS}/pods`)).body).toMatchObject({
      code: 429,
      details: { retryAfterSeconds: 1 },
    });
    expect(emu.control.requests({ status: 503 })).toHaveLength(2);
    emu.control.clearFaults();
    expect((await api('GET', `/api/v1/namespaces/${NS}/pods`)).status).toBe(404);
  });
});

describe('HTTP control API under /__emulator/', () => {
  it('mints tokens from a Role (YAML), lists objects and requests, resets', async () => {
    const created = await control(
      'POST',
      'tokens',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: ${NS}}
rules: [{apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]}]
`,
    );
    expect(created.status).toBe(201);
    const token = created.body['token'] as string;
    expect((await api('GET', `/api/v1/namespaces/${NS}/secrets`, undefined, {}, token)).status).toBe(200);
    const denied = await api('POST', `/api/v1/namespaces/${NS}/secrets`, secret('s'), {}, token);
    expect(denied.body?.['message']).toBe(
      `secrets is forbidden: User "system:serviceaccount:${NS}:reader" cannot create resource "secrets" in API group "" in the namespace "${NS}"`,
    );

    const put = await control('PUT', 'objects', JSON.stringify(secret('via-http')));
    expect(put.status).toBe(200);
    expect((await control('GET', `objects?kind=Secret&namespace=${NS}`)).body['items']).toHaveLength(1);
    const journal = await control('GET', `requests?status=403`);
    expect(journal.body['items']).toEqual([
      expect.objectContaining({ method: 'POST', status: 403, user: `system:serviceaccount:${NS}:reader` }),
    ]);

    expect((await control('POST', 'faults', JSON.stringify({ path: '/api/v1', status: 500 }))).status).toBe(
      201,
    );
    expect((await api('GET', '/api/v1')).status).toBe(500);
    expect((await control('DELETE', `objects?kind=secret&namespace=${NS}&name=via-http`)).body).toEqual({
      deleted: true,
    });
    expect((await control('POST', 'namespaces', JSON.stringify({ name: 'extra' }))).status).toBe(201);
    expect((await api('GET', '/api/v1/namespaces/extra')).status).toBe(200);

    expect((await control('POST', 'reset')).status).toBe(200);
    expect((await api('GET', `/api/v1/namespaces/${NS}/secrets`, undefined, {}, token)).status).toBe(401);
    expect((await api('GET', '/api/v1/namespaces/extra')).status).toBe(404);
    expect((await control('GET', 'nope')).status).toBe(404);
    expect((await control('POST', 'tokens', JSON.stringify({ rules: [] }))).status).toBe(400);
  });

  it('makes pods fail over HTTP', async () => {
    await api('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    expect(
      (
        await control(
          'POST',
          'pods-failing',
          JSON.stringify({ namespace: NS, deployment: 'd', failing: true }),
        )
      ).status,
    ).toBe(200);
    let status: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !status?.['observedGeneration']; i++) {
      await new Promise((r) => setTimeout(r, 10));
      status = (await api('GET', `/apis/apps/v1/namespaces/${NS}/deployments/d`)).body?.['status'] as Record<
        string,
        unknown
      >;
    }
    expect(status).toMatchObject({
      unavailableReplicas: 1,
      conditions: [{ type: 'Available', status: 'False' }, { reason: 'ProgressDeadlineExceeded' }],
    });
  });
});

describe('wire details', () => {
  it('serves discovery, version, health, OpenAPI v3 and 404/405/415 like the real server', async () => {
    expect((await fetch(`${emu.url}/version`)).status).toBe(200);
    expect(await (await fetch(`${emu.url}/healthz`)).text()).toBe('ok');
    expect((await api('GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect((await api('GET', '/apis')).body).toMatchObject({
      kind: 'APIGroupList',
      groups: ['apps', 'rbac.authorization.k8s.io', 'policy', 'networking.k8s.io'].map((name) => ({ name })),
    });
    expect((await api('GET', '/apis/apps/v1')).body).toMatchObject({
      kind: 'APIResourceList',
      groupVersion: 'apps/v1',
    });
    const root = await api('GET', '/openapi/v3');
    expect(Object.keys(root.body?.['paths'] as object)).toEqual([
      'apis/apps/v1',
      'api/v1',
      'apis/rbac.authorization.k8s.io/v1',
      'apis/policy/v1',
      'apis/networking.k8s.io/v1',
    ]);
    expect((await api('GET', '/openapi/v2')).status).toBe(404);
    expect((await api('GET', '/apis/batch/v1')).body).toMatchObject({
      code: 404,
      message: 'the server could not find the requested resource',
    });
    expect((await api('GET', `/api/v1/namespaces/${NS}/pods`)).status).toBe(404);
    expect((await api('DELETE', `/api/v1/namespaces/${NS}/services`)).status).toBe(405);
    expect((await api('POST', `/api/v1/namespaces`, { metadata: { name: 'x' } })).status).toBe(405);
    const unsupported = await api('PATCH', `/api/v1/namespaces/${NS}/secrets/x`, '{}', {
      'content-type': 'text/plain',
    });
    expect(unsupported.status).toBe(415);
    expect((await api('GET', '/api', undefined, { authorization: '' })).body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('returns Tables when asked, paginates with limit/continue, and supports dry runs', async () => {
    for (const name of ['a', 'b', 'c']) emu.control.putObject(secret(name));
    const table = await api('GET', `/api/v1/namespaces/${NS}/secrets`, undefined, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    expect(table.contentType).toBe('application/json;as=Table;v=v1;g=meta.k8s.io');
    expect(table.body).toMatchObject({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      rows: [{ cells: ['a', 'Opaque', 1, expect.any(String)] }, {}, {}],
    });

    const page1 = await api('GET', `/api/v1/namespaces/${NS}/secrets?limit=2`);
    expect((page1.body?.['items'] as unknown[]).length).toBe(2);
    const meta = page1.body?.['metadata'] as { continue: string; remainingItemCount: number };
    expect(meta.remainingItemCount).toBe(1);
    const page2 = await api('GET', `/api/v1/namespaces/${NS}/secrets?limit=2&continue=${meta.continue}`);
    expect((page2.body?.['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      'c',
    ]);

    const dry = await api('POST', `/api/v1/namespaces/${NS}/secrets?dryRun=All`, secret('dry'));
    expect(dry.status).toBe(201);
    expect(emu.control.objects({ name: 'dry' })).toEqual([]);
  });

  it('streams watch events', async () => {
    emu.control.putObject(secret('w1'));
    const controller = new AbortController();
    const res = await fetch(`${emu.url}/api/v1/namespaces/${NS}/secrets?watch=true&timeoutSeconds=5`, {
      headers: { authorization: `Bearer ${emu.token}` },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const events: { type: string; object: { metadata: { name: string } } }[] = [];
    let buffer = '';
    const pump = async () => {
      while (events.length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += new TextDecoder().decode(value);
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
      }
    };
    const done = pump();
    await new Promise((r) => setTimeout(r, 30));
    emu.control.putObject(secret('w2'));
    emu.control.deleteObject('secret', NS, 'w1');
    await done;
    controller.abort();
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'w1'],
      ['ADDED', 'w2'],
      ['DELETED', 'w1'],
    ]);
  });
});

describe('CLI', () => {
  it('parses flags and lists every problem', () => {
    expect(parseEmulateArgs([])).toEqual({ options: { port: 8788, tls: true }, json: false, help: false });
    expect(
      parseEmulateArgs([
        '--port=0',
        '--host',
        '0.0.0.0',
        '--token',
        't',
        '--namespace',
        'a',
        '--namespace',
        'b',
        '--no-tls',
        '--json',
      ]),
    ).toEqual({
      options: { port: 0, host: '0.0.0.0', token: 't', namespaces: ['a', 'b'], tls: false },
      json: true,
      help: false,
    });
    expect(() => parseEmulateArgs(['--port', 'x', '--bogus'])).toThrow(
      /--port: not a number: x\nunknown argument: --bogus/,
    );
  });

  it('prints one JSON line and stops on the signal', async () => {
    let out = '';
    let stop = (): void => undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const running = runKubernetesEmulatorCommand(
      ['--port', '0', '--json', '--namespace', 'ns1', '--token', 'cli-token'],
      {
        stdout: { write: (t: string) => (out += t) },
        stopSignal: stopped,
      },
    );
    for (let i = 0; i < 100 && !out; i++) await new Promise((r) => setTimeout(r, 10));
    const line = JSON.parse(out) as { url: string; token: string; namespace: string };
    expect(line).toEqual({
      url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
      token: 'cli-token',
      namespace: 'ns1',
    });
    expect(out.endsWith('\n')).toBe(true);
    stop();
    await running;
  });
});
