/**
 * The write path's public shapes: the `ObjectWriter` every verb and the control API write
 * through, what it is built from (`ObjectWriterDeps`), and the control API's `putObject`
 * options. The implementation is `createObjectWriter` in `object-writer.ts`.
 */
import type { JsonObject } from './json.js';
import type { ManagerEntry } from './managed-fields.js';
import type { ResourceType } from './resources.js';
import type { RolloutSimulator } from './rollout.js';
import type { ObjectStore } from './store.js';

export interface PutObjectOptions {
  /** Field manager recorded for the write (default `emulator-control`). */
  manager?: string;
  /** Store exactly what is given (only resourceVersion, uid and creationTimestamp are filled). */
  raw?: boolean;
}

export interface ObjectWriterDeps {
  store: ObjectStore;
  readyDelayMs: number;
}

export interface ObjectWriter {
  /** Creates (409 when it exists); `manager` owns every field it set. */
  create(
    rt: ResourceType,
    incoming: JsonObject,
    namespace: string,
    name: string,
    manager: string,
    dryRun: boolean,
  ): JsonObject;
  /** Replaces `existing` with `incoming` (a PUT body or a patched object). */
  update(
    rt: ResourceType,
    incoming: JsonObject,
    existing: JsonObject,
    manager: string,
    dryRun: boolean,
    subresource?: string,
  ): JsonObject;
  /** Stores the result of a server-side apply (creating when `existing` is undefined). */
  saveApplied(
    rt: ResourceType,
    merged: JsonObject,
    managers: ManagerEntry[],
    existing: JsonObject | undefined,
    namespace: string,
    name: string,
    dryRun: boolean,
  ): JsonObject;
  remove(rt: ResourceType, namespace: string, name: string): JsonObject | undefined;
  /** 404 NotFound `namespaces "x"` unless the namespace exists. */
  requireNamespace(namespace: string): void;
  /** Creates or replaces as an out-of-band admin would (control API). */
  putObject(object: JsonObject, options?: PutObjectOptions): JsonObject;
  addNamespace(name: string): JsonObject;
  readonly rollout: RolloutSimulator;
}
