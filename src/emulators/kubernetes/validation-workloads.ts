/**
 * Per-kind rules for StatefulSets, PersistentVolumeClaims (and a StatefulSet's claim templates)
 * and PodDisruptionBudgets, a modest part of pkg/apis/{apps,core,policy}/validation with the
 * real messages: required access modes and storage request, selectors against template labels,
 * the fields of a StatefulSet's spec that may change, a PDB's minAvailable/maxUnavailable.
 */
import { quantityValue } from './resource-defaults.js';
import type { JsonObject, JsonValue } from './json.js';
import { arrayAt, deepEqual, isObject, objectAt, stringMap } from './json.js';
import type { FieldError } from './status.js';
import { goLabelSelector, selectorMatches, validateContainers } from './validation-kinds.js';
import {
  forbiddenField,
  invalidValue,
  notSupported,
  required,
  validateLabels,
  validateObjectMeta,
} from './validation-meta.js';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

/** `ValidatePersistentVolumeClaimSpec` at `field` (`spec`, or `spec.volumeClaimTemplates[i].spec`). */
function validateClaimSpec(kind: string, spec: JsonObject, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const modes = arrayAt(spec, 'accessModes') ?? [];
  if (modes.length === 0) errs.push(required(`${field}.accessModes`, 'at least 1 access mode is required'));
  for (const mode of modes)
    if (!ACCESS_MODES.includes(String(mode)))
      errs.push(notSupported(`${field}.accessModes`, mode, ACCESS_MODES));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1)
    errs.push(forbiddenField(`${field}.accessModes`, 'may not use ReadWriteOncePod with other access modes'));
  const storage = objectAt(objectAt(spec, 'resources'), 'requests')?.['storage'];
  const storageField = `${field}.resources[storage]`;
  if (storage === undefined) errs.push(required(storageField));
  else if (quantityValue(kind, storage) <= 0)
    errs.push(invalidValue(storageField, String(storage), 'must be greater than zero'));
  const mode = spec['volumeMode'];
  if (mode !== undefined && mode !== 'Block' && mode !== 'Filesystem')
    errs.push(notSupported(`${field}.volumeMode`, mode, ['Block', 'Filesystem']));
  errs.push(...validateLabels(objectAt(spec, 'selector')?.['matchLabels'], `${field}.selector.matchLabels`));
  return errs;
}

/** The parts of a bound-or-not claim's spec that may change after creation. */
function mutableClaimSpec(spec: JsonObject | undefined): JsonValue {
  const copy = { ...(spec ?? {}) };
  delete copy['resources'];
  delete copy['volumeAttributesClassName'];
  return copy;
}

export function validatePersistentVolumeClaim(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const spec = objectAt(obj, 'spec') ?? {};
  errs.push(...validateClaimSpec('PersistentVolumeClaim', spec, 'spec'));
  if (old && !deepEqual(mutableClaimSpec(objectAt(old, 'spec')), mutableClaimSpec(spec)))
    errs.push(
      forbiddenField(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  return errs;
}

const STS_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

export function validateStatefulSet(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const spec = objectAt(obj, 'spec') ?? {};
  const replicas = spec['replicas'];
  if (replicas !== undefined && (typeof replicas !== 'number' || replicas < 0))
    errs.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  const policy = spec['podManagementPolicy'];
  if (policy !== undefined && policy !== 'OrderedReady' && policy !== 'Parallel')
    errs.push(invalidValue('spec.podManagementPolicy', policy, "must be 'OrderedReady' or 'Parallel'"));
  const strategy = objectAt(spec, 'updateStrategy');
  const strategyType = strategy?.['type'];
  if (strategyType !== undefined && strategyType !== 'RollingUpdate' && strategyType !== 'OnDelete')
    errs.push(notSupported('spec.updateStrategy.type', strategyType, ['OnDelete', 'RollingUpdate']));
  if (strategyType === 'OnDelete' && strategy?.['rollingUpdate'] !== undefined)
    errs.push(
      invalidValue(
        'spec.updateStrategy.rollingUpdate',
        'OnDelete',
        "only allowed for updateStrategy 'RollingUpdate'",
      ),
    );
  const selector = objectAt(spec, 'selector');
  const template = objectAt(spec, 'template') ?? {};
  const templateLabels = stringMap(objectAt(template, 'metadata')?.['labels']);
  if (!selector) errs.push(required('spec.selector'));
  else {
    errs.push(...validateLabels(selector['matchLabels'], 'spec.selector.matchLabels'));
    const empty =
      Object.keys(stringMap(selector['matchLabels'])).length === 0 &&
      (arrayAt(selector, 'matchExpressions') ?? []).length === 0;
    if (empty)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.selector',
        value: goLabelSelector(selector),
        detail: 'empty selector is invalid for statefulset',
      });
    else if (!selectorMatches(selector, templateLabels))
      errs.push(
        invalidValue(
          'spec.template.metadata.labels',
          templateLabels,
          '`selector` does not match template `labels`',
        ),
      );
  }
  errs.push(...validateLabels(objectAt(template, 'metadata')?.['labels'], 'spec.template.metadata.labels'));
  const podSpec = objectAt(template, 'spec') ?? {};
  validateContainers(arrayAt(podSpec, 'containers'), 'spec.template.spec.containers', errs, true);
  validateContainers(arrayAt(podSpec, 'initContainers'), 'spec.template.spec.initContainers', errs, false);
  const restartPolicy = podSpec['restartPolicy'];
  if (restartPolicy !== undefined && restartPolicy !== 'Always')
    errs.push(notSupported('spec.template.spec.restartPolicy', restartPolicy, ['Always']));
  (arrayAt(spec, 'volumeClaimTemplates') ?? []).forEach((t, i) => {
    const f = `spec.volumeClaimTemplates[${i}]`;
    if (!isObject(t)) return;
    errs.push(...validateClaimSpec('StatefulSet', objectAt(t, 'spec') ?? {}, `${f}.spec`));
  });
  if (old) {
    const oldSpec = { ...(objectAt(old, 'spec') ?? {}) };
    const newSpec = { ...spec };
    for (const key of STS_MUTABLE) {
      delete oldSpec[key];
      delete newSpec[key];
    }
    if (!deepEqual(oldSpec, newSpec))
      errs.push(
        forbiddenField(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
  }
  return errs;
}

/** `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent`. */
function intOrPercentErrors(value: JsonValue | undefined, field: string): FieldError[] {
  if (value === undefined) return [];
  if (typeof value === 'number')
    return value < 0 ? [invalidValue(field, value, 'must be greater than or equal to 0')] : [];
  const m = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  if (!m) return [invalidValue(field, value, "must be an integer or percentage (e.g '5%')")];
  return Number(m[1]) > 100 ? [invalidValue(field, value, 'must not be greater than 100%')] : [];
}

export function validatePodDisruptionBudget(obj: JsonObject): FieldError[] {
  const errs = validateObjectMeta(obj, 'dns1123-subdomain');
  const spec = objectAt(obj, 'spec') ?? {};
  if (spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined)
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec',
      // Go prints the struct with pointer addresses; its shape is what matters to a reader.
      value: 'policy.PodDisruptionBudgetSpec{…}',
      detail: 'minAvailable and maxUnavailable cannot be both set',
    });
  errs.push(...intOrPercentErrors(spec['minAvailable'], 'spec.minAvailable'));
  errs.push(...intOrPercentErrors(spec['maxUnavailable'], 'spec.maxUnavailable'));
  errs.push(...validateLabels(objectAt(spec, 'selector')?.['matchLabels'], 'spec.selector.matchLabels'));
  const policy = spec['unhealthyPodEvictionPolicy'];
  if (policy !== undefined && policy !== 'AlwaysAllow' && policy !== 'IfHealthyBudget')
    errs.push(notSupported('spec.unhealthyPodEvictionPolicy', policy, ['AlwaysAllow', 'IfHealthyBudget']));
  return errs;
}
