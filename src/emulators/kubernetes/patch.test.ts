import { describe, expect, it } from 'vitest';
import { schemaFor } from './field-schema.js';
import type { JsonObject } from './json.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './patch.js';

const deployment = (): JsonObject => ({
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'nginx:1',
            args: ['a', 'b'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [{ containerPort: 80, protocol: 'TCP' }],
          },
          { name: 'sidecar', image: 'busybox' },
        ],
      },
    },
  },
});

describe('JSON patch', () => {
  it('applies add, replace, remove, move, copy and test', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/c', value: 'x' },
      { op: 'add', path: '/a/b/-', value: 3 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'replace', path: '/c', value: 'y' },
      { op: 'copy', from: '/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e~1f' },
      { op: 'remove', path: '/a/b/1' },
    ]);
    expect(out).toEqual({ a: { b: [0, 2, 3] }, c: 'y', 'e/f': 'y' });
    expect(doc).toEqual({ a: { b: [1, 2] }, c: 'x' });
  });

  it.each([
    [[{ op: 'test', path: '/c', value: 'z' }], 422, 'testing value /c failed: test failed'],
    [[{ op: 'remove', path: '/nope' }], 422, 'unable to remove nonexistent key: nope: missing value'],
    [[{ op: 'replace', path: '/x/y', value: 1 }], 422, 'doc is missing path: "/x/y": missing value'],
    [{ op: 'add' }, 400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'],
  ])('fails %j with %i', (patch, code, message) => {
    try {
      applyJsonPatch({ c: 'x' }, patch as never);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PatchError);
      expect((e as PatchError).code).toBe(code);
      expect((e as PatchError).message).toBe(message);
    }
  });
});

describe('JSON merge patch', () => {
  it('merges maps, replaces lists, deletes on null', () => {
    const out = applyMergePatch(deployment(), {
      metadata: { labels: { tier: 'x', app: null } },
      spec: { template: { spec: { containers: [{ name: 'only' }] } } },
    }) as JsonObject;
    expect(out['metadata']).toEqual({ name: 'web', labels: { tier: 'x' }, finalizers: ['a'] });
    expect(out['spec']).toMatchObject({
      replicas: 1,
      template: { spec: { containers: [{ name: 'only' }] } },
    });
  });
});

describe('strategic merge patch', () => {
  const schema = schemaFor('Deployment');
  const containers = (o: JsonObject) =>
    ((o['spec'] as JsonObject)['template'] as JsonObject)['spec'] as { containers: JsonObject[] };

  it('merges containers by name, env by name, ports by containerPort; replaces args', () => {
    const out = applyStrategicMergePatch(
      deployment(),
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'nginx:2',
                  args: ['c'],
                  env: [
                    { name: 'B', value: '3' },
                    { name: 'C', value: '4' },
                  ],
                  ports: [{ containerPort: 81 }],
                },
                { name: 'new', image: 'x' },
              ],
            },
          },
        },
      },
      schema,
    );
    const [app, sidecar, added] = containers(out).containers;
    expect(app).toEqual({
      name: 'app',
      image: 'nginx:2',
      args: ['c'],
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '3' },
        { name: 'C', value: '4' },
      ],
      ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 81 }],
    });
    expect(sidecar).toEqual({ name: 'sidecar', image: 'busybox' });
    expect(added).toEqual({ name: 'new', image: 'x' });
  });

  it('honours $patch delete/replace, $setElementOrder, $retainKeys and $deleteFromPrimitiveList', () => {
    const out = applyStrategicMergePatch(
      deployment(),
      {
        metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
        spec: {
          strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null },
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
              containers: [{ name: 'app', env: [{ name: 'A', $patch: 'delete' }] }],
            },
          },
        },
      } as never,
      schema,
    );
    expect((out['metadata'] as JsonObject)['finalizers']).toEqual([]);
    expect((out['spec'] as JsonObject)['strategy']).toEqual({ type: 'Recreate' });
    const list = containers(out).containers;
    expect(list.map((c) => c['name'])).toEqual(['sidecar', 'app']);
    expect(list[1]?.['env']).toEqual([{ name: 'B', value: '2' }]);

    const replaced = applyStrategicMergePatch(
      deployment(),
      { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'solo', image: 'y' }] } } } },
      schema,
    );
    expect(containers(replaced).containers).toEqual([{ name: 'solo', image: 'y' }]);
  });

  it('merges Service ports by port and replaces its atomic selector', () => {
    const out = applyStrategicMergePatch(
      { spec: { selector: { a: '1', b: '2' }, ports: [{ port: 80, name: 'http' }] } },
      {
        spec: {
          selector: { a: '9' },
          ports: [
            { port: 80, targetPort: 8080 },
            { port: 443, name: 'https' },
          ],
        },
      },
      schemaFor('Service'),
    );
    expect(out['spec']).toEqual({
      selector: { a: '9' },
      ports: [
        { port: 80, name: 'http', targetPort: 8080 },
        { port: 443, name: 'https' },
      ],
    });
  });

  it('rejects keyed list items without their merge key', () => {
    expect(() =>
      applyStrategicMergePatch(
        deployment(),
        { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
        schema,
      ),
    ).toThrow(/does not contain declared merge key: name/);
  });
});
