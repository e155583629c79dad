/**
 * What the emulator knows of a served resource type: its discovery entry, naming rule, merge
 * schema, and what the real server does to it on write (defaults, validation).
 */
import type { FieldSchema } from './field-schema.js';
import type { JsonObject } from './json.js';
import type { FieldError } from './status.js';
import type { NameRule } from './validation.js';

export interface ResourceType {
  kind: string;
  listKind: string;
  group: string;
  version: string;
  /** `apps/v1` or `v1`. */
  apiVersion: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** The verbs discovery advertises, and the only ones served. */
  verbs: string[];
  storageVersionHash: string;
  statusSubresource: boolean;
  /** Deployments bump `metadata.generation` when their spec changes. */
  tracksGeneration: boolean;
  nameRule: NameRule;
  fieldSelectors: string[];
  schema: FieldSchema;
  /** Fills server defaults in place; `old` is the stored object on update. */
  applyDefaults(obj: JsonObject, old: JsonObject | undefined): void;
  validate(obj: JsonObject, old: JsonObject | undefined): FieldError[];
  /** What an empty typed object serialises to; ownership on create is computed against it. */
  skeleton(): JsonObject;
}

/** The eight verbs of a fully served resource. */
export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
