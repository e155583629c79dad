/**
 * Field ownership as kube-apiserver records it in `metadata.managedFields` (FieldsV1): field
 * sets, the comparison of two objects (added / modified / removed paths, as
 * structured-merge-diff computes them), and the bookkeeping of non-apply ("Update") writes.
 * Server-side apply itself lives in `apply.ts` and builds on this.
 *
 * A path is a list of elements: `f:<field>`, `k:{"key":value,…}` (list item by its map keys),
 * `v:<json>` (member of a set list). A set holds paths as strings joined by NUL.
 *
 * Paths and sets live in `managed-fields-paths.ts`, object comparison in
 * `managed-fields-compare.ts`, managedFields entries and Update tracking in
 * `managed-fields-entries.ts`; this module re-exports them.
 */
export {
  decodePath,
  encodePath,
  itemKeyElement,
  ownsUnder,
  trackedPart,
  valueElement,
  type FieldPath,
  type FieldSet,
} from './managed-fields-paths.js';
export { compare, toFieldSet, type Comparison } from './managed-fields-compare.js';
export {
  decodeManagedFields,
  describeManager,
  describePath,
  difference,
  encodeManagedFields,
  fromFieldsV1,
  sameManager,
  sameSet,
  toFieldsV1,
  trackUpdate,
  type ManagerEntry,
  type UpdateTracking,
} from './managed-fields-entries.js';
