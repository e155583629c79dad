/**
 * `Status` bodies exactly shaped like kube-apiserver's (k8s.io/apimachinery/pkg/api/errors):
 * every failure the emulator returns is a `KubeError` carrying one, so the HTTP layer has a
 * single mapper (status code = `status.code`).
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** A group + plural resource name, e.g. `{ group: 'apps', resource: 'deployments' }`. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** `deployments.apps`, or `services` for the core group. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

/** `Deployment.apps`, or `Service` for the core group. */
export function qualifiedKind(group: string, kind: string): string {
  return group ? `${kind}.${group}` : kind;
}

export class KubeError extends Error {
  readonly status: StatusBody;
  constructor(status: StatusBody) {
    super(status.message ?? status.reason ?? 'error');
    this.name = 'KubeError';
    this.status = status;
  }
  get code(): number {
    return this.status.code ?? 500;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusDetails): KubeError {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message };
  if (reason) body.reason = reason;
  if (details) body.details = details;
  body.code = code;
  return new KubeError(body);
}

function resourceDetails(gr: GroupResource, name: string | undefined): StatusDetails {
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (gr.group) details.group = gr.group;
  details.kind = gr.resource;
  return details;
}

export function notFound(gr: GroupResource, name: string): KubeError {
  return failure(
    404,
    'NotFound',
    `${qualifiedResource(gr)} ${JSON.stringify(name)} not found`,
    resourceDetails(gr, name),
  );
}

/** What the server answers for a path it does not serve. */
export function pathNotFound(): KubeError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(gr: GroupResource, name: string): KubeError {
  return failure(
    409,
    'AlreadyExists',
    `${qualifiedResource(gr)} ${JSON.stringify(name)} already exists`,
    resourceDetails(gr, name),
  );
}

export function conflict(gr: GroupResource, name: string, detail: string): KubeError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} ${JSON.stringify(name)}: ${detail}`,
    resourceDetails(gr, name),
  );
}

export const STALE_OBJECT_DETAIL =
  'the object has been modified; please apply your changes to the latest version and try again';

/** Server-side apply ownership conflicts: a 409 with one `FieldManagerConflict` cause per field. */
export function applyConflict(message: string, causes: StatusCause[]): KubeError {
  return failure(409, 'Conflict', message, { causes });
}

/** One field problem, formatted like `field.Error` in apimachinery. */
export interface FieldError {
  type:
    | 'FieldValueInvalid'
    | 'FieldValueRequired'
    | 'FieldValueDuplicate'
    | 'FieldValueNotSupported'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong';
  field: string;
  /** Already rendered the way Go prints it (strings quoted), or undefined for Required/Forbidden. */
  value?: string;
  detail?: string;
}

const typeText: Record<FieldError['type'], string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
};

/** `field.Error.ErrorBody()`: the message without the field path. */
export function fieldErrorBody(e: FieldError): string {
  let s = typeText[e.type];
  if (e.value !== undefined && e.type !== 'FieldValueRequired' && e.type !== 'FieldValueForbidden')
    s += `: ${e.value}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

export function fieldErrorText(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** 422 Invalid, message `Kind.group "name" is invalid: <aggregate>`. */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): KubeError {
  const texts = [...new Set(errors.map(fieldErrorText))];
  const aggregate = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (group) details.group = group;
  details.kind = kind;
  details.causes = errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
  return failure(
    422,
    'Invalid',
    `${qualifiedKind(group, kind)} ${JSON.stringify(name)} is invalid: ${aggregate}`,
    details,
  );
}

export function forbidden(gr: GroupResource, name: string | undefined, reason: string): KubeError {
  const q = qualifiedResource(gr);
  const message = name
    ? `${q} ${JSON.stringify(name)} is forbidden: ${reason}`
    : `${q} is forbidden: ${reason}`;
  return failure(403, 'Forbidden', message, resourceDetails(gr, name));
}

/** 403 for a non-resource path (`User "x" cannot get path "/foo"`). */
export function forbiddenPath(reason: string): KubeError {
  return failure(403, 'Forbidden', `forbidden: ${reason}`, {});
}

export function unauthorized(): KubeError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function badRequest(message: string): KubeError {
  return failure(400, 'BadRequest', message);
}

/** What a real server's router answers for a verb a resource does not support. */
export function methodNotAllowed(): KubeError {
  return failure(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function unsupportedMediaType(contentType: string, accepted: string[]): KubeError {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    contentType ? { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] } : {},
  );
}

export function notAcceptable(): KubeError {
  return failure(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml',
  );
}

export function gone(message: string): KubeError {
  return failure(410, 'Expired', message);
}

export function unprocessable(message: string): KubeError {
  return failure(422, 'Invalid', message);
}

/** A fault injected through the control API: any status code with a matching reason. */
export function injected(code: number, message?: string, reason?: string): KubeError {
  return failure(code, reason ?? reasonForCode(code), message ?? defaultMessage(code), {});
}

function reasonForCode(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    410: 'Expired',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? 'Unknown';
}

function defaultMessage(code: number): string {
  const messages: Record<number, string> = {
    429: 'Too many requests, please try again later.',
    500: 'Internal error occurred: injected fault',
    503: 'the server is currently unable to handle the request',
    504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
  };
  return messages[code] ?? `injected fault (HTTP ${code})`;
}
