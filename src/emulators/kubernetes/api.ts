/**
 * The Kubernetes REST semantics, independent of sockets: resolve a request to (verb, resource,
 * namespace, name) the way the real RequestInfo does, authenticate, authorize, then get / list /
 * create / update / patch (JSON, merge, strategic, apply) / delete / deletecollection, with
 * request-level checks (content types, preconditions, selectors, Table output). Writing an
 * object is `object-writer.ts`'s job; watches are returned as a descriptor for `watch.ts`.
 */
import { parse as parseYaml } from 'yaml';
import { serverSideApply } from './apply.js';
import { apiGroup, coreVersions, groupList, resourceList, versionDocument } from './discovery.js';
import type { JsonObject, JsonValue } from './json.js';
import { child, clone, isObject, objectAt, stringAt, stringMap } from './json.js';
import { decodeManagedFields } from './managed-fields.js';
import type { PutObjectOptions } from './object-writer.js';
import { createObjectWriter, gr, presentable, timestamp } from './object-writer.js';
import { openApiGroupVersion, openApiRoot } from './openapi.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './patch.js';
import type { Identity, RequestAttributes, TokenRegistry } from './rbac.js';
import { forbiddenReason, isAllowed } from './rbac.js';
import type { ResourceType } from './resources.js';
import { resourceByPlural } from './resources.js';
import type { RolloutSimulator } from './rollout.js';
import type { FieldRequirement, LabelSelector } from './selectors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { FieldError } from './status.js';
import {
  badRequest,
  conflict,
  forbidden,
  invalid,
  KubeError,
  methodNotAllowed,
  notFound,
  pathNotFound,
  STALE_OBJECT_DETAIL,
  unauthorized,
  unprocessable,
  unsupportedMediaType,
} from './status.js';
import type { ObjectStore } from './store.js';
import type { IncludeObject } from './table.js';
import { renderTable } from './table.js';

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Media type without parameters, lower-cased (`application/json`). */
  contentType: string;
  accept: string;
  userAgent: string;
  authorization: string;
  body: string;
}

export interface WatchRequest {
  resource: ResourceType;
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
  resourceVersion: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  /** Set when the client asked for Table output (`kubectl get -w`): each event carries a one-row Table. */
  table?: { version: string; includeObject: IncludeObject };
}

export type ApiResult =
  | { kind: 'json'; status: number; body: unknown; contentType?: string }
  | { kind: 'text'; status: number; body: string }
  | { kind: 'watch'; watch: WatchRequest };

export interface ApiOutcome {
  result: ApiResult;
  user?: string;
}

export interface KubernetesApiDeps {
  store: ObjectStore;
  tokens: TokenRegistry;
  readyDelayMs: number;
  /** host:port this server is reached at, for `/api`'s serverAddressByClientCIDRs. */
  serverAddress(): string;
}

export interface KubernetesApi {
  handle(req: ApiRequest): ApiOutcome;
  /** Creates or replaces an object as an admin would, bypassing RBAC (for drift tests). */
  putObject(object: JsonObject, options?: PutObjectOptions): JsonObject;
  deleteObject(resource: ResourceType, namespace: string, name: string): boolean;
  addNamespace(name: string): JsonObject;
  readonly rollout: RolloutSimulator;
  close(): void;
}

const JSON_TYPES = ['application/json', 'application/yaml', ''];
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
];
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function generateSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return s;
}

interface ResolvedPath {
  /** Discovery and other non-resource endpoints. */
  nonResource?: () => ApiResult;
  attrs?: RequestAttributes & { collection: boolean };
}

export function createKubernetesApi(deps: KubernetesApiDeps): KubernetesApi {
  const { store, tokens } = deps;
  const writer = createObjectWriter({ store, readyDelayMs: deps.readyDelayMs });
  const deploymentsType = resourceByPlural('apps', 'deployments') as ResourceType;
  const namespacesType = resourceByPlural('', 'namespaces') as ResourceType;

  // ------------------------------------------------------------ request parsing

  function parseBody(req: ApiRequest, yamlAllowed: boolean): JsonValue {
    if (req.body.trim() === '') throw badRequest("Object 'Kind' is missing in ''");
    try {
      if (
        yamlAllowed &&
        (req.contentType === 'application/yaml' || req.contentType === 'application/apply-patch+yaml')
      )
        return parseYaml(req.body) as JsonValue;
      return JSON.parse(req.body) as JsonValue;
    } catch (e) {
      throw badRequest(`error decoding ${yamlAllowed ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
    }
  }

  function parseObjectBody(req: ApiRequest, rt: ResourceType): JsonObject {
    if (!JSON_TYPES.includes(req.contentType))
      throw unsupportedMediaType(req.contentType, ['application/json', 'application/yaml']);
    const body = parseBody(req, true);
    if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${req.body.slice(0, 200)}'`);
    checkTypeMeta(rt, body);
    return body;
  }

  function checkTypeMeta(rt: ResourceType, body: JsonObject): void {
    const kind = stringAt(body, 'kind');
    const apiVersion = stringAt(body, 'apiVersion');
    if (kind !== undefined && kind !== rt.kind) {
      throw badRequest(
        `${kind} in version "${apiVersion ?? ''}" cannot be handled as a ${rt.kind}: the object provided is unrecognized`,
      );
    }
    if (apiVersion !== undefined && apiVersion !== rt.apiVersion) {
      throw badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (${rt.apiVersion})`,
      );
    }
  }

  function checkNamespaceOfBody(body: JsonObject, namespace: string): void {
    const ns = stringAt(objectAt(body, 'metadata'), 'namespace');
    if (ns && ns !== namespace)
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
  }

  function checkNameOfBody(body: JsonObject, name: string): void {
    const bodyName = stringAt(objectAt(body, 'metadata'), 'name');
    if (bodyName !== undefined && bodyName !== name) {
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    }
  }

  function fieldManagerOf(req: ApiRequest, fallbackToAgent: boolean): string {
    const explicit = req.query.get('fieldManager') ?? '';
    if (explicit.length > 128) {
      throw invalid('meta.k8s.io', 'PatchOptions', '', [
        {
          type: 'FieldValueTooLong',
          field: 'fieldManager',
          value: JSON.stringify(explicit),
          detail: 'may not be longer than 128 characters',
        },
      ]);
    }
    if (explicit || !fallbackToAgent) return explicit;
    let out = '';
    for (const ch of req.userAgent.split('/')[0] ?? '') {
      if (ch < ' ' || out.length + ch.length > 128) continue;
      out += ch;
    }
    return out;
  }

  const isDryRun = (req: ApiRequest): boolean => req.query.getAll('dryRun').some((v) => v !== '');

  function authorize(identity: Identity, attrs: RequestAttributes): void {
    if (!isAllowed(identity, attrs))
      throw forbidden(
        { group: attrs.group, resource: attrs.resource },
        attrs.name,
        forbiddenReason(identity.user, attrs),
      );
  }

  // ------------------------------------------------------------ routing

  function resolve(req: ApiRequest): ResolvedPath {
    const parts = req.path.split('/').filter((p) => p !== '');
    const method = req.method;
    const get = (fn: () => JsonObject | undefined): ResolvedPath => ({
      nonResource: () => {
        if (method !== 'GET') throw methodNotAllowed();
        const body = fn();
        if (!body) throw pathNotFound();
        return { kind: 'json', status: 200, body };
      },
    });
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      if (parts.length === 1) return get(() => coreVersions(deps.serverAddress()));
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      if (parts.length === 1) return get(groupList);
      if (parts.length === 2) return get(() => apiGroup(parts[1] ?? ''));
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else if (parts[0] === 'openapi' && parts[1] === 'v3') {
      return parts.length === 2 ? get(openApiRoot) : get(() => openApiGroupVersion(parts.slice(2).join('/')));
    } else {
      return {
        nonResource: () => {
          throw pathNotFound();
        },
      };
    }
    if (rest.length === 0) return get(() => resourceList(group, version));
    if (version !== 'v1')
      return {
        nonResource: () => {
          throw pathNotFound();
        },
      };

    const watching = ['true', '1'].includes(req.query.get('watch') ?? '');
    let namespace: string | undefined;
    let resource: string;
    let name: string | undefined;
    let subresource: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      resource = rest[2] ?? '';
      name = rest[3];
      subresource = rest[4];
    } else if (rest[0] === 'namespaces' && group === '') {
      resource = 'namespaces';
      name = rest[1];
      namespace = name;
      subresource = rest[2];
    } else {
      resource = rest[0] ?? '';
      name = rest[1];
      subresource = rest[2];
    }
    const collection = name === undefined;
    let verb: string;
    switch (method) {
      case 'GET':
      case 'HEAD':
        verb = watching ? 'watch' : collection ? 'list' : 'get';
        break;
      case 'POST':
        verb = 'create';
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = collection ? 'deletecollection' : 'delete';
        break;
      default:
        throw methodNotAllowed();
    }
    const attrs: ResolvedPath['attrs'] = { verb, group, resource, collection };
    if (namespace !== undefined) attrs.namespace = namespace;
    if (name !== undefined) attrs.name = name;
    if (subresource !== undefined) attrs.subresource = subresource;
    return { attrs };
  }

  function handleResource(
    req: ApiRequest,
    identity: Identity,
    attrs: NonNullable<ResolvedPath['attrs']>,
  ): ApiResult {
    authorize(identity, attrs);
    const rt = resourceByPlural(attrs.group, attrs.resource);
    if (
      rt === deploymentsType &&
      attrs.subresource === 'scale' &&
      attrs.namespace !== undefined &&
      attrs.name !== undefined
    ) {
      return scale(req, attrs.verb, attrs.namespace, attrs.name);
    }
    if (!rt || attrs.subresource !== undefined) throw pathNotFound();
    if (!rt.verbs.includes(attrs.verb)) throw methodNotAllowed();
    if (rt.namespaced && attrs.namespace === undefined && attrs.verb !== 'list' && attrs.verb !== 'watch')
      throw pathNotFound();
    if (rt === namespacesType && attrs.namespace !== attrs.name) throw pathNotFound();
    const namespace = rt.namespaced ? attrs.namespace : undefined;
    const ns = namespace ?? '';
    const name = attrs.name;

    switch (attrs.verb) {
      case 'get': {
        const obj = store.get(rt.plural, ns, name ?? '');
        if (!obj) throw notFound(gr(rt), name ?? '');
        return respondObjects(req, rt, [presentable(obj)], undefined);
      }
      case 'list':
        return list(req, rt, namespace);
      case 'watch':
        return {
          kind: 'watch',
          watch: {
            resource: rt,
            ...(namespace !== undefined ? { namespace } : {}),
            labels: parseLabelSelector(req.query.get('labelSelector') ?? ''),
            fields: parseFieldSelector(req.query.get('fieldSelector') ?? '', rt.fieldSelectors),
            resourceVersion: req.query.get('resourceVersion') ?? '',
            ...(req.query.get('timeoutSeconds')
              ? { timeoutSeconds: Number(req.query.get('timeoutSeconds')) }
              : {}),
            allowBookmarks: req.query.get('allowWatchBookmarks') === 'true',
            ...tableRequest(req),
          },
        };
      case 'create':
        return create(req, rt, ns);
      case 'update':
        return replace(req, rt, ns, name ?? '');
      case 'patch':
        return patch(req, identity, rt, ns, name ?? '');
      case 'delete':
        return remove(req, rt, ns, name ?? '');
      case 'deletecollection':
        return removeCollection(req, rt, ns);
    }
    throw methodNotAllowed();
  }

  // ------------------------------------------------------------ verbs

  function selectObjects(req: ApiRequest, rt: ResourceType, namespace: string | undefined): JsonObject[] {
    const labels = parseLabelSelector(req.query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(req.query.get('fieldSelector') ?? '', rt.fieldSelectors);
    return store.list(rt.plural, namespace).filter((obj) => matchesObject(rt, obj, labels, fields));
  }

  function tableRequest(req: ApiRequest): { table?: { version: string; includeObject: IncludeObject } } {
    const version = tableVersion(req.accept);
    if (!version) return {};
    return {
      table: {
        version,
        includeObject: (req.query.get('includeObject') ?? 'PartialObjectMetadata') as IncludeObject,
      },
    };
  }

  function list(req: ApiRequest, rt: ResourceType, namespace: string | undefined): ApiResult {
    let items = selectObjects(req, rt, namespace);
    const listMeta: JsonObject = { resourceVersion: String(store.currentVersion()) };
    const cont = req.query.get('continue');
    if (cont) {
      let after = '';
      try {
        const token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { after?: string };
        after = String(token.after ?? '');
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data at input byte 0');
      }
      items = items.filter((obj) => itemKey(obj) > after);
    }
    const limit = Number(req.query.get('limit') ?? '0');
    if (limit > 0 && items.length > limit) {
      const remaining = items.length - limit;
      items = items.slice(0, limit);
      const last = items[items.length - 1];
      listMeta['continue'] = Buffer.from(
        JSON.stringify({ v: 'meta.k8s.io/v1', rv: store.currentVersion(), after: last ? itemKey(last) : '' }),
      ).toString('base64url');
      listMeta['remainingItemCount'] = remaining;
    }
    return respondObjects(req, rt, items.map(presentable), listMeta);
  }

  function itemKey(obj: JsonObject): string {
    const meta = objectAt(obj, 'metadata');
    return `${stringAt(meta, 'namespace') ?? ''}/${stringAt(meta, 'name') ?? ''}`;
  }

  /** A list (listMeta given) or a single object, as JSON or as a Table when the client asked for one. */
  function respondObjects(
    req: ApiRequest,
    rt: ResourceType,
    objects: JsonObject[],
    listMeta: JsonObject | undefined,
  ): ApiResult {
    const table = tableVersion(req.accept);
    if (table) {
      const include = (req.query.get('includeObject') ?? 'PartialObjectMetadata') as IncludeObject;
      const meta = listMeta ?? {
        resourceVersion: stringAt(objectAt(objects[0], 'metadata'), 'resourceVersion') ?? '',
      };
      return {
        kind: 'json',
        status: 200,
        body: renderTable(rt, objects, meta, table, include),
        contentType: `application/json;as=Table;v=${table};g=meta.k8s.io`,
      };
    }
    if (!listMeta) return { kind: 'json', status: 200, body: objects[0] };
    const items = objects.map((o) => {
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    });
    return {
      kind: 'json',
      status: 200,
      body: { kind: rt.listKind, apiVersion: rt.apiVersion, metadata: listMeta, items },
    };
  }

  function create(req: ApiRequest, rt: ResourceType, namespace: string): ApiResult {
    const body = parseObjectBody(req, rt);
    checkNamespaceOfBody(body, namespace);
    const meta = objectAt(body, 'metadata') ?? {};
    let name = stringAt(meta, 'name') ?? '';
    const generateName = stringAt(meta, 'generateName');
    if (!name && generateName) name = `${generateName}${generateSuffix()}`;
    if (rt.namespaced) writer.requireNamespace(namespace);
    if (stringAt(meta, 'resourceVersion')) {
      throw invalid(rt.group, rt.kind, name, [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.resourceVersion',
          value: JSON.stringify(stringAt(meta, 'resourceVersion')),
          detail: 'must be empty',
        },
      ]);
    }
    const created = writer.create(rt, body, namespace, name, fieldManagerOf(req, true), isDryRun(req));
    return { kind: 'json', status: 201, body: created };
  }

  function existingOr404(rt: ResourceType, namespace: string, name: string): JsonObject {
    const obj = store.get(rt.plural, namespace, name);
    if (!obj) throw notFound(gr(rt), name);
    return obj;
  }

  function checkResourceVersion(
    rt: ResourceType,
    name: string,
    wanted: string | undefined,
    existing: JsonObject,
  ): void {
    if (!wanted) return;
    if (wanted !== stringAt(objectAt(existing, 'metadata'), 'resourceVersion'))
      throw conflict(gr(rt), name, STALE_OBJECT_DETAIL);
  }

  function replace(req: ApiRequest, rt: ResourceType, namespace: string, name: string): ApiResult {
    const body = parseObjectBody(req, rt);
    checkNameOfBody(body, name);
    checkNamespaceOfBody(body, namespace);
    const existing = existingOr404(rt, namespace, name);
    checkResourceVersion(rt, name, stringAt(objectAt(body, 'metadata'), 'resourceVersion'), existing);
    return {
      kind: 'json',
      status: 200,
      body: writer.update(rt, body, existing, fieldManagerOf(req, true), isDryRun(req)),
    };
  }

  function patch(
    req: ApiRequest,
    identity: Identity,
    rt: ResourceType,
    namespace: string,
    name: string,
  ): ApiResult {
    if (!PATCH_TYPES.includes(req.contentType)) throw unsupportedMediaType(req.contentType, PATCH_TYPES);
    const isApply = req.contentType === 'application/apply-patch+yaml';
    const optionErrors: FieldError[] = [];
    const force = req.query.get('force');
    if (!isApply && force !== null)
      optionErrors.push({
        type: 'FieldValueForbidden',
        field: 'force',
        detail: 'may not be specified for non-apply patch',
      });
    const manager = fieldManagerOf(req, !isApply);
    if (isApply && !manager)
      optionErrors.push({
        type: 'FieldValueRequired',
        field: 'fieldManager',
        detail: 'is required for apply patch',
      });
    if (optionErrors.length > 0) throw invalid('meta.k8s.io', 'PatchOptions', '', optionErrors);
    const dryRun = isDryRun(req);
    const existing = store.get(rt.plural, namespace, name);
    if (isApply)
      return apply(req, identity, rt, namespace, name, existing, manager, force === 'true', dryRun);
    if (!existing) throw notFound(gr(rt), name);

    const patchDoc = parseBody(req, false);
    let patched: JsonValue;
    try {
      if (req.contentType === 'application/json-patch+json') patched = applyJsonPatch(existing, patchDoc);
      else if (req.contentType === 'application/merge-patch+json')
        patched = applyMergePatch(existing, patchDoc);
      else patched = applyStrategicMergePatch(existing, patchDoc, rt.schema);
    } catch (e) {
      if (e instanceof PatchError) throw e.code === 400 ? badRequest(e.message) : unprocessable(e.message);
      throw e;
    }
    if (!isObject(patched)) throw badRequest('the patch produced something that is not an object');
    const patchedRV = stringAt(objectAt(patched, 'metadata'), 'resourceVersion');
    checkResourceVersion(rt, name, patchedRV, existing);
    return { kind: 'json', status: 200, body: writer.update(rt, patched, existing, manager, dryRun) };
  }

  function apply(
    req: ApiRequest,
    identity: Identity,
    rt: ResourceType,
    namespace: string,
    name: string,
    existing: JsonObject | undefined,
    manager: string,
    force: boolean,
    dryRun: boolean,
  ): ApiResult {
    const config = parseBody(req, true);
    if (!isObject(config) || stringAt(config, 'kind') === undefined) {
      throw badRequest(`error decoding YAML: Object 'Kind' is missing in '${req.body.slice(0, 200)}'`);
    }
    checkTypeMeta(rt, config);
    checkNameOfBody(config, name);
    checkNamespaceOfBody(config, namespace);
    if (!existing) {
      // Creating through apply is also a `create`, authorized with the object's name.
      authorize(identity, { verb: 'create', group: rt.group, resource: rt.plural, namespace, name });
      if (rt.namespaced) writer.requireNamespace(namespace);
    }
    const wantedRV = stringAt(objectAt(config, 'metadata'), 'resourceVersion');
    if (existing) checkResourceVersion(rt, name, wantedRV, existing);
    else if (wantedRV) throw conflict(gr(rt), name, STALE_OBJECT_DETAIL);

    const live: JsonObject = existing ?? {
      apiVersion: rt.apiVersion,
      kind: rt.kind,
      metadata: rt.namespaced ? { name, namespace } : { name },
    };
    const result = serverSideApply({
      live,
      managers: decodeManagedFields(existing),
      config,
      manager,
      force,
      apiVersion: rt.apiVersion,
      now: timestamp(),
      schema: rt.schema,
      statusIsSubresource: rt.statusSubresource,
    });
    const body = writer.saveApplied(rt, result.object, result.managers, existing, namespace, name, dryRun);
    return { kind: 'json', status: existing ? 200 : 201, body };
  }

  /** `deployments/{name}/scale`: an `autoscaling/v1` Scale view of `spec.replicas`. */
  function scale(req: ApiRequest, verb: string, namespace: string, name: string): ApiResult {
    const rt = deploymentsType;
    const existing = existingOr404(rt, namespace, name);
    const toScale = (dep: JsonObject): JsonObject => {
      const meta = objectAt(dep, 'metadata') ?? {};
      const scaleMeta: JsonObject = {};
      for (const key of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) {
        if (meta[key] !== undefined) scaleMeta[key] = meta[key] as JsonValue;
      }
      const spec = objectAt(dep, 'spec') ?? {};
      const labels = stringMap(objectAt(spec, 'selector')?.['matchLabels']);
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: scaleMeta,
        spec: { replicas: spec['replicas'] ?? 1 },
        status: {
          replicas: objectAt(dep, 'status')?.['replicas'] ?? 0,
          selector: Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        },
      };
    };
    if (verb === 'get') return { kind: 'json', status: 200, body: toScale(existing) };
    let wanted: JsonValue;
    if (verb === 'update') {
      if (!JSON_TYPES.includes(req.contentType))
        throw unsupportedMediaType(req.contentType, ['application/json', 'application/yaml']);
      wanted = parseBody(req, true);
    } else if (verb === 'patch') {
      if (!PATCH_TYPES.includes(req.contentType) || req.contentType === 'application/apply-patch+yaml') {
        throw unsupportedMediaType(
          req.contentType,
          PATCH_TYPES.filter((t) => t !== 'application/apply-patch+yaml'),
        );
      }
      const doc = parseBody(req, false);
      try {
        const current = toScale(existing);
        if (req.contentType === 'application/json-patch+json') wanted = applyJsonPatch(current, doc);
        else if (req.contentType === 'application/merge-patch+json') wanted = applyMergePatch(current, doc);
        else wanted = applyStrategicMergePatch(current, doc, rt.schema);
      } catch (e) {
        if (e instanceof PatchError) throw e.code === 400 ? badRequest(e.message) : unprocessable(e.message);
        throw e;
      }
    } else {
      throw methodNotAllowed();
    }
    if (!isObject(wanted)) throw badRequest('Scale must be an object');
    checkResourceVersion(rt, name, stringAt(objectAt(wanted, 'metadata'), 'resourceVersion'), existing);
    const replicas = objectAt(wanted, 'spec')?.['replicas'];
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid('autoscaling', 'Scale', name, [
        {
          type: 'FieldValueInvalid',
          field: 'spec.replicas',
          value: String(replicas),
          detail: 'must be greater than or equal to 0',
        },
      ]);
    }
    const next = clone(existing);
    child(next, 'spec')['replicas'] = replicas;
    const updated = writer.update(rt, next, existing, fieldManagerOf(req, true), isDryRun(req), 'scale');
    return { kind: 'json', status: 200, body: toScale(updated) };
  }

  function deleteOptions(req: ApiRequest): JsonObject {
    if (req.body.trim() === '') return {};
    const body = parseBody(req, true);
    return isObject(body) ? body : {};
  }

  function remove(req: ApiRequest, rt: ResourceType, namespace: string, name: string): ApiResult {
    const options = deleteOptions(req);
    const existing = existingOr404(rt, namespace, name);
    const pre = objectAt(options, 'preconditions');
    const meta = objectAt(existing, 'metadata');
    const uid = stringAt(pre, 'uid');
    if (uid && uid !== stringAt(meta, 'uid')) {
      throw conflict(
        gr(rt),
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${stringAt(meta, 'uid') ?? ''}`,
      );
    }
    const rv = stringAt(pre, 'resourceVersion');
    if (rv && rv !== stringAt(meta, 'resourceVersion')) {
      throw conflict(
        gr(rt),
        name,
        `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${stringAt(meta, 'resourceVersion') ?? ''}`,
      );
    }
    const dryRun = isDryRun(req) || (Array.isArray(options['dryRun']) && options['dryRun'].length > 0);
    const deleted = dryRun ? existing : (writer.remove(rt, namespace, name) ?? existing);
    // Services answer with the deleted object (ReturnDeletedObject); the rest with a Success Status.
    if (rt.plural === 'services') return { kind: 'json', status: 200, body: presentable(deleted) };
    const details: JsonObject = { name };
    if (rt.group) details['group'] = rt.group;
    details['kind'] = rt.plural;
    details['uid'] = stringAt(meta, 'uid') ?? '';
    return {
      kind: 'json',
      status: 200,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details },
    };
  }

  function removeCollection(req: ApiRequest, rt: ResourceType, namespace: string): ApiResult {
    deleteOptions(req);
    const victims = selectObjects(req, rt, namespace);
    const dryRun = isDryRun(req);
    const items: JsonObject[] = [];
    for (const obj of victims) {
      const meta = objectAt(obj, 'metadata');
      const deleted = dryRun ? obj : writer.remove(rt, namespace, stringAt(meta, 'name') ?? '');
      if (deleted) {
        const { apiVersion: _a, kind: _k, ...rest } = presentable(deleted);
        items.push(rest);
      }
    }
    return {
      kind: 'json',
      status: 200,
      body: {
        kind: rt.listKind,
        apiVersion: rt.apiVersion,
        metadata: { resourceVersion: String(store.currentVersion()) },
        items,
      },
    };
  }

  // ------------------------------------------------------------ entry points

  function handle(req: ApiRequest): ApiOutcome {
    let user: string | undefined;
    try {
      const path = req.path.replace(/\/+$/, '') || '/';
      if (req.method === 'GET' && path === '/version')
        return { result: { kind: 'json', status: 200, body: versionDocument() } };
      if (req.method === 'GET' && ['/healthz', '/livez', '/readyz'].includes(path))
        return { result: { kind: 'text', status: 200, body: 'ok' } };
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization);
      const identity = match ? tokens.authenticate(match[1] ?? '') : undefined;
      if (!identity) throw unauthorized();
      user = identity.user;
      const resolved = resolve({ ...req, path });
      if (resolved.nonResource) return { result: resolved.nonResource(), user };
      if (!resolved.attrs) throw pathNotFound();
      return { result: handleResource(req, identity, resolved.attrs), user };
    } catch (e) {
      if (e instanceof KubeError) {
        const result: ApiResult = { kind: 'json', status: e.code, body: e.status };
        return user === undefined ? { result } : { result, user };
      }
      throw e;
    }
  }

  return {
    handle,
    putObject: writer.putObject,
    deleteObject: (rt, namespace, name) =>
      writer.remove(rt, rt.namespaced ? namespace : '', name) !== undefined,
    addNamespace: writer.addNamespace,
    rollout: writer.rollout,
    close: () => writer.rollout.close(),
  };
}

export function matchesObject(
  rt: ResourceType,
  obj: JsonObject,
  labels: LabelSelector,
  fields: FieldRequirement[],
): boolean {
  const meta = objectAt(obj, 'metadata');
  if (!matchesLabels(labels, stringMap(meta?.['labels']))) return false;
  const values: Record<string, string> = {
    'metadata.name': stringAt(meta, 'name') ?? '',
    'metadata.namespace': stringAt(meta, 'namespace') ?? '',
  };
  if (rt.plural === 'secrets') values['type'] = stringAt(obj, 'type') ?? '';
  return matchesFields(fields, values);
}

/** `v1` or `v1beta1` when the Accept header asks for a `meta.k8s.io` Table, else undefined. */
export function tableVersion(accept: string): string | undefined {
  for (const range of accept.split(',')) {
    const params = new Map(
      range
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('as') === 'Table' && params.get('g') === 'meta.k8s.io') {
      const v = params.get('v');
      if (v === 'v1' || v === 'v1beta1') return v;
    }
  }
  return undefined;
}
