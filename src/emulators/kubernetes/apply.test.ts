import { describe, expect, it } from 'vitest';
import { appliedFieldSet, serverSideApply } from './apply.js';
import { schemaFor } from './field-schema.js';
import type { JsonObject } from './json.js';
import type { ManagerEntry } from './managed-fields.js';
import { encodeManagedFields, fromFieldsV1, toFieldsV1, trackUpdate, trackedPart } from './managed-fields.js';
import { KubeError } from './status.js';

const schema = schemaFor('Deployment');
const NOW = '2025-01-01T00:00:00Z';

const config = (image: string, replicas?: number): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' } },
  spec: {
    ...(replicas === undefined ? {} : { replicas }),
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 80 }] }] },
    },
  },
});

function apply(live: JsonObject, managers: ManagerEntry[], cfg: JsonObject, manager: string, force = false) {
  return serverSideApply({
    live,
    managers,
    config: cfg,
    manager,
    force,
    apiVersion: 'apps/v1',
    now: NOW,
    schema,
    statusIsSubresource: true,
  });
}

const bare: JsonObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns' },
};

describe('field sets', () => {
  it('owns leaves, list items (with key defaults) and atomic fields, not identity metadata', () => {
    expect(appliedFieldSet(config('nginx', 2), schema, true).sort()).toEqual(
      [
        '.metadata.labels.app',
        '.spec.replicas',
        '.spec.selector',
        '.spec.template.metadata.labels.app',
        '.spec.template.spec.containers[name="app"]',
        '.spec.template.spec.containers[name="app"].image',
        '.spec.template.spec.containers[name="app"].name',
        '.spec.template.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]',
        '.spec.template.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"].containerPort',
      ].sort(),
    );
  });

  it('round-trips FieldsV1 with "." for members that have children', () => {
    const { managers } = apply(bare, [], config('nginx'), 'a');
    const tree = toFieldsV1(managers[0]?.fields ?? new Set());
    expect(tree).toMatchObject({
      'f:spec': {
        'f:selector': {},
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {} } } } },
      },
    });
    expect(fromFieldsV1(tree)).toEqual(managers[0]?.fields);
  });
});

describe('server-side apply', () => {
  it('creates, then shares fields applied with equal values, and conflicts on different ones', () => {
    const first = apply(bare, [], config('nginx:1', 2), 'alpha');
    expect(first.object['spec']).toMatchObject({ replicas: 2 });
    expect(first.managers.map((m) => [m.manager, m.operation])).toEqual([['alpha', 'Apply']]);

    // Same values: no conflict, both own the fields.
    const shared = apply(first.object, first.managers, config('nginx:1', 2), 'beta');
    expect(shared.managers.map((m) => m.manager)).toEqual(['alpha', 'beta']);

    try {
      apply(shared.object, shared.managers, config('nginx:2', 3), 'gamma');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KubeError);
      const status = (e as KubeError).status;
      expect(status.code).toBe(409);
      expect(status.reason).toBe('Conflict');
      expect(status.message).toBe(
        'Apply failed with 4 conflicts: conflicts with "alpha":\n' +
          '- .spec.replicas\n' +
          '- .spec.template.spec.containers[name="app"].image\n' +
          'conflicts with "beta":\n' +
          '- .spec.replicas\n' +
          '- .spec.template.spec.containers[name="app"].image',
      );
      expect(status.details?.causes?.[0]).toEqual({
        reason: 'FieldManagerConflict',
        message: 'conflict with "alpha"',
        field: '.spec.replicas',
      });
    }
  });

  it('force takes the conflicting fields away from the other managers', () => {
    const first = apply(bare, [], config('nginx:1', 2), 'alpha');
    const forced = apply(first.object, first.managers, config('nginx:2', 2), 'gamma', true);
    const alpha = forced.managers.find((m) => m.manager === 'alpha');
    expect([...(alpha?.fields ?? [])].some((f) => f.includes('f:image'))).toBe(false);
    expect([...(alpha?.fields ?? [])].some((f) => f.includes('f:replicas'))).toBe(true);
  });

  it('prunes fields this manager stopped applying unless someone else owns them', () => {
    const first = apply(bare, [], config('nginx:1', 2), 'alpha');
    const without = apply(first.object, first.managers, config('nginx:1'), 'alpha');
    expect((without.object['spec'] as JsonObject)['replicas']).toBeUndefined();

    const shared = apply(first.object, first.managers, config('nginx:1', 2), 'beta');
    const kept = apply(shared.object, shared.managers, config('nginx:1'), 'alpha');
    expect((kept.object['spec'] as JsonObject)['replicas']).toBe(2);
  });

  it('reports conflicts with updaters as "<name>" using <apiVersion>', () => {
    const live = { ...config('nginx:1', 2), metadata: { name: 'web', namespace: 'ns' } };
    const managers = trackUpdate({
      managers: [],
      before: trackedPart({ metadata: {}, spec: { template: { metadata: {}, spec: {} } } }, true),
      after: trackedPart(live, true),
      manager: 'kubectl-client-side-apply',
      apiVersion: 'apps/v1',
      now: NOW,
      schema,
    });
    expect(encodeManagedFields(managers)[0]).toMatchObject({
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
    });
    expect(() => apply(live, managers, config('nginx:1', 5), 'kubectl')).toThrow(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
  });
});
