/**
 * A stand-in for the Deployment controller: no pods exist, but a configurable delay after each
 * write to a Deployment its `status` (replicas, readiness, observedGeneration, conditions) and
 * its `deployment.kubernetes.io/revision` annotation are written the way kube-controller-manager
 * would. Pods can be declared failing per Deployment (or `*` per namespace): the status then
 * stays unavailable with `Progressing=False` and a reason.
 */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, child, deepEqual, isObject, objectAt, stringAt } from './json.js';

export interface PodFailure {
  reason: string;
  message?: string;
}

export interface RolloutDeps {
  readyDelayMs: number;
  /** Every stored Deployment. */
  list(): JsonObject[];
  read(namespace: string, name: string): JsonObject | undefined;
  /** Writes `next` (same object with new status/annotations) as kube-controller-manager. */
  write(previous: JsonObject, next: JsonObject): void;
  now(): string;
}

export interface RolloutSimulator {
  /** Called after every client write to a Deployment: (re)starts its rollout timer. */
  observe(deployment: JsonObject): void;
  forget(namespace: string, name: string): void;
  setFailing(namespace: string, name: string, failure: PodFailure | undefined): void;
  reset(): void;
  close(): void;
}

const REVISION = 'deployment.kubernetes.io/revision';
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** A pod-template-hash-like suffix (10 chars from the alphabet Kubernetes uses). */
export function templateHash(template: JsonValue | undefined): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(template ?? null))
    .digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += SAFE[(digest[i] ?? 0) % SAFE.length];
  return out;
}

function condition(
  previous: JsonValue[] | undefined,
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: string,
): JsonObject {
  const old = (previous ?? []).find((c) => isObject(c) && c['type'] === type);
  const same = isObject(old) && old['status'] === status;
  const sameReason = same && old['reason'] === reason && old['message'] === message;
  return {
    type,
    status,
    lastUpdateTime: sameReason ? (old['lastUpdateTime'] ?? now) : now,
    lastTransitionTime: same ? (old['lastTransitionTime'] ?? now) : now,
    reason,
    message,
  };
}

export function createRolloutSimulator(deps: RolloutDeps): RolloutSimulator {
  const timers = new Map<string, NodeJS.Timeout>();
  const failures = new Map<string, PodFailure>();
  const revisions = new Map<string, { revision: number; template: string }>();
  const key = (ns: string, name: string): string => `${ns}/${name}`;

  function failureFor(ns: string, name: string): PodFailure | undefined {
    return failures.get(key(ns, name)) ?? failures.get(key(ns, '*'));
  }

  function sync(ns: string, name: string): void {
    timers.delete(key(ns, name));
    const current = deps.read(ns, name);
    if (!current) return;
    const next = structuredClone(current);
    const now = deps.now();
    const meta = child(next, 'metadata');
    const spec = objectAt(next, 'spec') ?? {};
    const templateText = JSON.stringify(spec['template'] ?? null);
    const state = revisions.get(key(ns, name));
    const revision = !state ? 1 : state.template === templateText ? state.revision : state.revision + 1;
    revisions.set(key(ns, name), { revision, template: templateText });
    child(meta, 'annotations')[REVISION] = String(revision);

    const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    const rsName = `${name}-${templateHash(spec['template'])}`;
    const previousConditions = arrayAt(objectAt(current, 'status'), 'conditions');
    const failure = failureFor(ns, name);
    const status: JsonObject = {
      observedGeneration: typeof meta['generation'] === 'number' ? meta['generation'] : 1,
    };
    if (replicas > 0) {
      status['replicas'] = replicas;
      status['updatedReplicas'] = replicas;
    }
    if (failure && replicas > 0) {
      status['unavailableReplicas'] = replicas;
      status['conditions'] = [
        condition(
          previousConditions,
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          now,
        ),
        condition(
          previousConditions,
          'Progressing',
          'False',
          failure.reason,
          failure.message ?? `ReplicaSet ${JSON.stringify(rsName)} has timed out progressing.`,
          now,
        ),
      ];
    } else {
      if (replicas > 0) {
        status['readyReplicas'] = replicas;
        status['availableReplicas'] = replicas;
      }
      status['conditions'] = [
        condition(
          previousConditions,
          'Available',
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
          now,
        ),
        condition(
          previousConditions,
          'Progressing',
          'True',
          'NewReplicaSetAvailable',
          `ReplicaSet ${JSON.stringify(rsName)} has successfully progressed.`,
          now,
        ),
      ];
    }
    next['status'] = status;
    if (deepEqual(next, current)) return;
    deps.write(current, next);
  }

  function schedule(ns: string, name: string): void {
    const k = key(ns, name);
    const existing = timers.get(k);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => sync(ns, name), deps.readyDelayMs);
    timer.unref();
    timers.set(k, timer);
  }

  function clearAll(): void {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  }

  return {
    observe(deployment) {
      const meta = objectAt(deployment, 'metadata');
      schedule(stringAt(meta, 'namespace') ?? '', stringAt(meta, 'name') ?? '');
    },
    forget(ns, name) {
      const k = key(ns, name);
      const timer = timers.get(k);
      if (timer) clearTimeout(timer);
      timers.delete(k);
      revisions.delete(k);
    },
    setFailing(ns, name, failure) {
      if (failure) failures.set(key(ns, name), failure);
      else if (name === '*') {
        // Recovering the whole namespace also clears failures set per Deployment.
        for (const k of [...failures.keys()]) if (k.startsWith(`${ns}/`)) failures.delete(k);
      } else failures.delete(key(ns, name));
      for (const d of deps.list()) {
        const meta = objectAt(d, 'metadata');
        if (stringAt(meta, 'namespace') !== ns) continue;
        if (name !== '*' && stringAt(meta, 'name') !== name) continue;
        schedule(ns, stringAt(meta, 'name') ?? '');
      }
    },
    reset() {
      clearAll();
      failures.clear();
      revisions.clear();
    },
    close: clearAll,
  };
}
