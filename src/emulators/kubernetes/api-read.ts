/**
 * The read verbs: get, list (label and field selectors, `limit`/`continue` paging) and watch
 * (returned as a `WatchRequest` descriptor for `watch.ts`), with Table negotiation — an Accept
 * header asking for a `meta.k8s.io` Table gets one, for objects, lists and watch events.
 */
import type { ApiRequest, ApiResult } from './api-types.js';
import type { JsonObject } from './json.js';
import { objectAt, stringAt, stringMap } from './json.js';
import { gr, presentable } from './object-writer.js';
import type { ResourceType } from './resources.js';
import type { FieldRequirement, LabelSelector } from './selectors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { badRequest, notFound } from './status.js';
import type { ObjectStore } from './store.js';
import type { IncludeObject } from './table.js';
import { renderTable } from './table.js';

export interface ReadHandlers {
  get(req: ApiRequest, rt: ResourceType, namespace: string, name: string | undefined): ApiResult;
  list(req: ApiRequest, rt: ResourceType, namespace: string | undefined): ApiResult;
  watch(req: ApiRequest, rt: ResourceType, namespace: string | undefined): ApiResult;
  /** The objects of `namespace` (all when undefined) matching the request's selectors. */
  selectObjects(req: ApiRequest, rt: ResourceType, namespace: string | undefined): JsonObject[];
}

export function createReadHandlers(store: ObjectStore): ReadHandlers {
  function get(req: ApiRequest, rt: ResourceType, ns: string, name: string | undefined): ApiResult {
    const obj = store.get(rt.plural, ns, name ?? '');
    if (!obj) throw notFound(gr(rt), name ?? '');
    return respondObjects(req, rt, [presentable(obj)], undefined);
  }

  function watch(req: ApiRequest, rt: ResourceType, namespace: string | undefined): ApiResult {
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
  }

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

  return { get, list, watch, selectObjects };
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
