/**
 * Validation with the real server's rules and messages: RFC 1123 / RFC 1035 names, qualified
 * names and values for labels (k8s.io/apimachinery/pkg/util/validation), and a modest part of
 * the per-kind rules (pkg/apis/{apps,core}/validation). Every function returns `FieldError`s;
 * the caller turns them into one 422 Invalid.
 *
 * The rules live in `validation-names.ts` (name and key formats), `validation-meta.ts` (field
 * errors, labels, annotations, object metadata) and `validation-kinds.ts` (per-kind rules);
 * this module re-exports them.
 */

export {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  labelValueErrors,
  maxLenError,
  regexError,
} from './validation-names.js';
export { goValue, nameErrors, validateLabels, validateObjectMeta, type NameRule } from './validation-meta.js';
export { validateDeployment, validateSecret, validateService } from './validation-kinds.js';
