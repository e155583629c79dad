/**
 * The emulator's control surface, for tests and for humans: inspect and seed objects, mint
 * least-privilege tokens from Role rules, read the request journal, make pods fail, inject
 * faults. The same operations are served over HTTP under `/__emulator/…` (see README.md);
 * those routes need no token.
 */
import { parse as parseYaml } from 'yaml';
import type { KubernetesApi } from './api.js';
import type { JsonObject, JsonValue } from './json.js';
import { isObject, objectAt, stringAt, stringMap } from './json.js';
import type { PolicyRule, RoleInput, TokenRegistry } from './rbac.js';
import { parseRole, parseRules } from './rbac.js';
import { RESOURCE_TYPES, resourceByName } from './resources.js';
import { matchesLabels, parseLabelSelector } from './selectors.js';
import { KubeError } from './status.js';
import type { ObjectStore } from './store.js';
import type { FaultInput, RecordedRequest, RequestFilter, Traffic } from './traffic.js';

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** A stored object as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  [key: string]: unknown;
}

export interface ObjectFilter {
  /** Kind, plural or short name, any case: `Deployment`, `deployments`, `svc`. */
  kind?: string;
  namespace?: string;
  name?: string;
  /** Exact label matches, or a label selector string (`app=x,tier notin (db)`). */
  labels?: Record<string, string> | string;
}

export type AddTokenInput =
  | { token?: string; namespace: string; rules: PolicyRule[]; serviceAccount?: string; user?: string }
  /** `namespace` defaults to the Role's `metadata.namespace`; `serviceAccount` to its name. */
  | { token?: string; namespace?: string; role: RoleInput; serviceAccount?: string; user?: string };

export interface PodFailureOptions {
  /** `Progressing` condition reason (default `ProgressDeadlineExceeded`). */
  reason?: string;
  message?: string;
}

export interface PutObjectControlOptions {
  /** Field manager recorded for the write (default `emulator-control`). */
  manager?: string;
  /** Store the object exactly as given: no defaults, no validation, no managedFields tracking. */
  raw?: boolean;
}

export interface KubernetesEmulatorControl {
  /** Drops every object, extra token, journaled request, fault and pod failure; restores the configured namespaces. */
  reset(): void;
  objects(filter?: ObjectFilter): KubeObject[];
  /** Registers a bearer token bound to one namespace with Role rules; returns the token. */
  addToken(input: AddTokenInput): string;
  requests(filter?: RequestFilter): RecordedRequest[];
  clearRequests(): void;
  /** Makes the pods of one Deployment (or `'*'`: every Deployment of the namespace) fail, or recover. */
  setPodsFailing(namespace: string, deployment: string, failing: boolean, options?: PodFailureOptions): void;
  /** Creates or replaces an object as an out-of-band admin would (drift); namespace defaults to `default`. */
  putObject(object: KubeObject | Record<string, unknown>, options?: PutObjectControlOptions): KubeObject;
  /** Deletes an object out of band; false when it did not exist. */
  deleteObject(kind: string, namespace: string, name: string): boolean;
  addNamespace(name: string): void;
  /** Answers the next `times` (default 1) requests matching method + path with `status`; returns the fault id. */
  addFault(fault: FaultInput): string;
  clearFaults(): void;
}

export interface ControlDeps {
  api: KubernetesApi;
  store: ObjectStore;
  tokens: TokenRegistry;
  traffic: Traffic;
  namespaces: readonly string[];
}

function asKubeObject(obj: JsonObject): KubeObject {
  return obj as unknown as KubeObject;
}

/** Turns a KubeError from the API layer into a plain Error carrying the Status message. */
function plainError(e: unknown): Error {
  if (e instanceof KubeError) {
    const err = new Error(e.status.message ?? 'error');
    (err as Error & { status?: unknown }).status = e.status;
    return err;
  }
  return e instanceof Error ? e : new Error(String(e));
}

export function createControl(deps: ControlDeps): KubernetesEmulatorControl {
  const { api, store, tokens, traffic } = deps;

  function resourceOf(kind: string): (typeof RESOURCE_TYPES)[number] {
    const rt = resourceByName(kind);
    if (!rt)
      throw new Error(
        `unknown kind ${JSON.stringify(kind)}: expected one of ${RESOURCE_TYPES.map((r) => r.kind).join(', ')}`,
      );
    return rt;
  }

  const control: KubernetesEmulatorControl = {
    reset() {
      api.rollout.reset();
      store.clear();
      for (const ns of deps.namespaces) api.addNamespace(ns);
      tokens.reset();
      traffic.clearRequests();
      traffic.clearFaults();
    },
    objects(filter = {}) {
      const types = filter.kind ? [resourceOf(filter.kind)] : RESOURCE_TYPES;
      const selector = typeof filter.labels === 'string' ? parseLabelSelector(filter.labels) : undefined;
      const out: KubeObject[] = [];
      for (const rt of types) {
        for (const obj of store.list(rt.plural)) {
          const meta = objectAt(obj, 'metadata');
          // A namespace filter selects namespaced objects only.
          if (filter.namespace !== undefined && stringAt(meta, 'namespace') !== filter.namespace) continue;
          if (filter.name !== undefined && stringAt(meta, 'name') !== filter.name) continue;
          const labels = stringMap(meta?.['labels']);
          if (selector && !matchesLabels(selector, labels)) continue;
          if (
            isObject(filter.labels as JsonValue) &&
            !Object.entries(filter.labels as Record<string, string>).every(([k, v]) => labels[k] === v)
          )
            continue;
          out.push(asKubeObject(obj));
        }
      }
      return out;
    },
    addToken(input) {
      let namespace = input.namespace;
      let rules: PolicyRule[];
      let account = input.serviceAccount;
      if ('role' in input) {
        const role = parseRole(input.role);
        rules = role.rules;
        namespace ??= role.namespace;
        account ??= role.name;
      } else {
        rules = parseRules(input.rules);
      }
      if (!namespace) throw new Error('addToken needs a namespace (or a Role with metadata.namespace)');
      const fields: Parameters<TokenRegistry['add']>[0] = { namespace, rules };
      if (input.token !== undefined) fields.token = input.token;
      if (account !== undefined) fields.serviceAccount = account;
      if (input.user !== undefined) fields.user = input.user;
      return tokens.add(fields).token;
    },
    requests: (filter) => traffic.requests(filter),
    clearRequests: () => traffic.clearRequests(),
    setPodsFailing(namespace, deployment, failing, options = {}) {
      api.rollout.setFailing(
        namespace,
        deployment,
        failing
          ? {
              reason: options.reason ?? 'ProgressDeadlineExceeded',
              ...(options.message ? { message: options.message } : {}),
            }
          : undefined,
      );
    },
    putObject(object, options = {}) {
      try {
        return asKubeObject(api.putObject(object as JsonObject, options));
      } catch (e) {
        throw plainError(e);
      }
    },
    deleteObject(kind, namespace, name) {
      return api.deleteObject(resourceOf(kind), namespace, name);
    },
    addNamespace(name) {
      api.addNamespace(name);
    },
    addFault: (fault) => traffic.addFault(fault),
    clearFaults: () => traffic.clearFaults(),
  };
  return control;
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

function parseDocument(text: string): unknown {
  if (text.trim() === '') return {};
  return parseYaml(text) as unknown;
}

function faultFromJson(body: JsonObject): FaultInput {
  const pathRegex = stringAt(body, 'pathRegex');
  const path = pathRegex ? new RegExp(pathRegex) : stringAt(body, 'path');
  if (path === undefined) throw new Error('fault needs path (glob with *) or pathRegex');
  const status = body['status'];
  if (typeof status !== 'number') throw new Error('fault needs a numeric status');
  const fault: FaultInput = { path, status };
  const method = stringAt(body, 'method');
  if (method) fault.method = method;
  const times = body['times'];
  if (typeof times === 'number') fault.times = times;
  else if (times === 'always' || times === null) fault.times = Infinity;
  const message = stringAt(body, 'message');
  if (message) fault.message = message;
  const reason = stringAt(body, 'reason');
  if (reason) fault.reason = reason;
  if (typeof body['retryAfterSeconds'] === 'number') fault.retryAfterSeconds = body['retryAfterSeconds'];
  return fault;
}

/** Serves `/__emulator/<route>`; `route` is the part after the prefix. */
export function handleControlRequest(
  control: KubernetesEmulatorControl,
  method: string,
  route: string,
  query: URLSearchParams,
  body: string,
): ControlResponse {
  const ok = (value: unknown, status = 200): ControlResponse => ({ status, body: value });
  try {
    switch (`${method} ${route}`) {
      case 'POST reset':
        control.reset();
        return ok({ reset: true });
      case 'GET objects': {
        const filter: ObjectFilter = {};
        for (const key of ['kind', 'namespace', 'name'] as const) {
          const v = query.get(key);
          if (v !== null) filter[key] = v;
        }
        const labels = query.get('labelSelector');
        if (labels) filter.labels = labels;
        return ok({ items: control.objects(filter) });
      }
      case 'PUT objects':
      case 'POST objects': {
        const doc = parseDocument(body);
        if (!isObject(doc as JsonValue)) throw new Error('body must be a Kubernetes object');
        const options: PutObjectControlOptions = { raw: query.get('raw') === 'true' };
        const manager = query.get('manager');
        if (manager) options.manager = manager;
        return ok(control.putObject(doc as Record<string, unknown>, options));
      }
      case 'DELETE objects': {
        const deleted = control.deleteObject(
          query.get('kind') ?? '',
          query.get('namespace') ?? '',
          query.get('name') ?? '',
        );
        return ok({ deleted }, deleted ? 200 : 404);
      }
      case 'POST tokens': {
        const doc = parseDocument(body);
        if (!isObject(doc as JsonValue))
          throw new Error('body must be {namespace, rules} or {namespace, role} or a Role');
        const input = doc as JsonObject;
        const namespace = stringAt(input, 'namespace') ?? query.get('namespace') ?? undefined;
        const common: { token?: string; serviceAccount?: string; user?: string } = {};
        const token = stringAt(input, 'token') ?? query.get('token') ?? undefined;
        if (token) common.token = token;
        const sa = stringAt(input, 'serviceAccount') ?? query.get('serviceAccount') ?? undefined;
        if (sa) common.serviceAccount = sa;
        const user = stringAt(input, 'user');
        if (user) common.user = user;
        let created: string;
        if (stringAt(input, 'kind') === 'Role' || stringAt(input, 'kind') === 'ClusterRole') {
          created = control.addToken({
            ...common,
            ...(namespace ? { namespace } : {}),
            role: input as unknown as RoleInput,
          });
        } else if (input['role'] !== undefined) {
          created = control.addToken({
            ...common,
            ...(namespace ? { namespace } : {}),
            role: input['role'] as unknown as RoleInput,
          });
        } else {
          if (!namespace) throw new Error('namespace is required');
          created = control.addToken({
            ...common,
            namespace,
            rules: input['rules'] as unknown as PolicyRule[],
          });
        }
        return ok({ token: created }, 201);
      }
      case 'GET requests': {
        const filter: RequestFilter = {};
        const m = query.get('method');
        if (m) filter.method = m;
        const p = query.get('path');
        if (p) filter.path = p;
        const s = query.get('status');
        if (s) filter.status = Number(s);
        const u = query.get('user');
        if (u) filter.user = u;
        return ok({ items: control.requests(filter) });
      }
      case 'DELETE requests':
        control.clearRequests();
        return ok({ cleared: true });
      case 'POST pods-failing': {
        const doc = parseDocument(body) as JsonObject;
        const namespace = stringAt(doc, 'namespace');
        const deployment = stringAt(doc, 'deployment') ?? '*';
        if (!namespace) throw new Error('namespace is required');
        const options: PodFailureOptions = {};
        const reason = stringAt(doc, 'reason');
        if (reason) options.reason = reason;
        const message = stringAt(doc, 'message');
        if (message) options.message = message;
        control.setPodsFailing(namespace, deployment, doc['failing'] !== false, options);
        return ok({ namespace, deployment, failing: doc['failing'] !== false });
      }
      case 'POST faults': {
        const doc = parseDocument(body);
        if (!isObject(doc as JsonValue)) throw new Error('body must be a fault object');
        return ok({ id: control.addFault(faultFromJson(doc as JsonObject)) }, 201);
      }
      case 'DELETE faults':
        control.clearFaults();
        return ok({ cleared: true });
      case 'POST namespaces': {
        const doc = parseDocument(body) as JsonObject;
        const name = stringAt(doc, 'name') ?? stringAt(objectAt(doc, 'metadata'), 'name');
        if (!name) throw new Error('name is required');
        control.addNamespace(name);
        return ok({ name }, 201);
      }
      default:
        return { status: 404, body: { error: `no control route ${method} /__emulator/${route}` } };
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const status = (err as Error & { status?: unknown }).status;
    return { status: 400, body: { error: err.message, ...(status ? { status } : {}) } };
  }
}
