/**
 * The types of the Kubernetes API layer (`api.ts`): the socket-free request and result shapes
 * `server.ts` exchanges with it, the watch descriptor handed to `watch.ts`, and the API handle.
 */
import type { JsonObject } from './json.js';
import type { PutObjectOptions } from './object-writer.js';
import type { TokenRegistry } from './rbac.js';
import type { ResourceType } from './resources.js';
import type { RolloutSimulator } from './rollout.js';
import type { FieldRequirement, LabelSelector } from './selectors.js';
import type { ObjectStore } from './store.js';
import type { IncludeObject } from './table.js';

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
