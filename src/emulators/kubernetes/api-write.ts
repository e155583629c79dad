/**
 * The write verbs: create (`generateName`, no `resourceVersion`), update (PUT), patch (JSON,
 * merge, strategic merge) and server-side apply (create-through-apply is also authorized as
 * `create`), delete (uid / resourceVersion preconditions; Services answer with the object),
 * deletecollection, and the `deployments/{name}/scale` subresource. Request checks come from
 * `api-request.ts`; storing an object is `object-writer.ts`'s job.
 */
import { serverSideApply } from './apply.js';
import {
  authorize,
  checkNameOfBody,
  checkNamespaceOfBody,
  checkTypeMeta,
  fieldManagerOf,
  generateSuffix,
  isDryRun,
  JSON_TYPES,
  parseBody,
  parseObjectBody,
  PATCH_TYPES,
} from './api-request.js';
import type { ApiRequest, ApiResult } from './api-types.js';
import type { JsonObject, JsonValue } from './json.js';
import { child, clone, isObject, objectAt, stringAt, stringMap } from './json.js';
import { decodeManagedFields } from './managed-fields.js';
import type { ObjectWriter } from './object-writer.js';
import { gr, presentable, timestamp } from './object-writer.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './patch.js';
import type { Identity } from './rbac.js';
import type { ResourceType } from './resources.js';
import { resourceByPlural } from './resources.js';
import type { FieldError } from './status.js';
import {
  badRequest,
  conflict,
  invalid,
  methodNotAllowed,
  notFound,
  STALE_OBJECT_DETAIL,
  unprocessable,
  unsupportedMediaType,
} from './status.js';
import type { ObjectStore } from './store.js';

export interface WriteHandlerDeps {
  store: ObjectStore;
  writer: ObjectWriter;
  /** The objects a deletecollection removes: those matching the request's selectors. */
  selectObjects(req: ApiRequest, rt: ResourceType, namespace: string | undefined): JsonObject[];
}

export interface WriteHandlers {
  create(req: ApiRequest, rt: ResourceType, namespace: string): ApiResult;
  replace(req: ApiRequest, rt: ResourceType, namespace: string, name: string): ApiResult;
  patch(req: ApiRequest, identity: Identity, rt: ResourceType, namespace: string, name: string): ApiResult;
  remove(req: ApiRequest, rt: ResourceType, namespace: string, name: string): ApiResult;
  removeCollection(req: ApiRequest, rt: ResourceType, namespace: string): ApiResult;
  scale(req: ApiRequest, verb: string, namespace: string, name: string): ApiResult;
}

export function createWriteHandlers(deps: WriteHandlerDeps): WriteHandlers {
  const { store, writer, selectObjects } = deps;
  const deploymentsType = resourceByPlural('apps', 'deployments') as ResourceType;

  function create(req: ApiRequest, rt: ResourceType, namespace: string): ApiResult {
    const body = parseObjectBody(req, rt);
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

  return { create, replace, patch, remove, removeCollection, scale };
}
