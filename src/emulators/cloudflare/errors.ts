// The one error type handlers throw, and the catalogue of Cloudflare error codes and texts
// the emulator sends. Codes marked "seen" were observed in real responses (the Cloudflare
// reference, reference/cloudflare.md §1.4); the others are UNVERIFIED stand-ins, listed in
// docs/emulators.md so nobody mistakes them for Cloudflare's.

/** One entry of the envelope's `errors` array. */
export interface ErrorItem {
  code: number;
  message: string;
  error_chain?: ErrorItem[];
  source?: { pointer: string };
}

/** Thrown by handlers and mapped by the server to a non-2xx envelope. */
export class CloudflareApiError extends Error {
  readonly status: number;
  readonly errors: ErrorItem[];
  /** When false the body carries only `success` and `errors`, as some real 4xx bodies do. */
  readonly fullEnvelope: boolean;

  constructor(status: number, errors: ErrorItem[], fullEnvelope = true) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; '));
    this.status = status;
    this.errors = errors;
    this.fullEnvelope = fullEnvelope;
  }
}

/** A control-API misuse (unknown tunnel, bad fault rule…); `status` is used over HTTP. */
export class ControlError extends Error {
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

function fail(status: number, code: number, message: string): CloudflareApiError {
  return new CloudflareApiError(status, [{ code, message }]);
}

export const apiErrors = {
  // Envelope, routing and authentication.
  /** seen (7003 + 7000): unknown path or malformed object id. */
  noRoute: (path: string) =>
    new CloudflareApiError(400, [
      { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` },
      { code: 7000, message: 'No route for that URI' },
    ]),
  /** seen: no credentials at all (that body has no `messages`/`result`). */
  missingAuth: () =>
    new CloudflareApiError(
      400,
      [{ code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }],
      false,
    ),
  /** seen: a bearer token that is not well formed. */
  malformedAuthorization: () =>
    new CloudflareApiError(400, [
      {
        code: 6003,
        message: 'Invalid request headers',
        error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
      },
    ]),
  /** seen: a Global API key sent to an emulator that only knows tokens. */
  malformedAuthKey: () =>
    new CloudflareApiError(400, [
      {
        code: 6003,
        message: 'Invalid request headers',
        error_chain: [{ code: 6103, message: 'Invalid format for X-Auth-Key header' }],
      },
    ]),
  /** seen: token unknown, lacking the permission, or scoped to another account/zone. */
  authentication: () => fail(403, 10000, 'Authentication error'),
  /** seen on /tokens/verify with an unknown token (HTTP status UNVERIFIED). */
  invalidToken: () => fail(401, 1000, 'Invalid API Token'),
  /** seen: code 6007 for a body that is not JSON. */
  malformedJson: () => fail(400, 6007, 'Malformed JSON in request body'),
  /**
   * seen (on the billing endpoint's per_page, 2017): 6008 with an 11000 chain naming the
   * parameter; used here for every page/per_page out of range.
   */
  badPageParameter: (message: string) =>
    new CloudflareApiError(400, [
      { code: 6008, message: 'Invalid request parameters', error_chain: [{ code: 11000, message }] },
    ]),
  /** UNVERIFIED: the emulator's own limit on request bodies. */
  bodyTooLarge: (limit: number) => fail(413, 10013, `Request body too large: the limit is ${limit} bytes`),
  /** Code 971 and text as the brief gives them; the code is UNVERIFIED. */
  rateLimited: () => fail(429, 971, 'Please wait and consider throttling your request speed'),

  // Tunnels.
  /** seen */
  tunnelNameTaken: () =>
    fail(
      409,
      1013,
      'You already have a tunnel with this name. Delete the existing tunnel, or choose a different name for your new tunnel',
    ),
  /** code seen (1022), text from the Terraform provider issue title, status UNVERIFIED. */
  tunnelHasConnections: () => fail(400, 1022, 'Cannot delete tunnel because it has active connections'),
  /** UNVERIFIED */
  tunnelNotFound: () => fail(404, 1003, 'Tunnel not found'),
  /** UNVERIFIED */
  connectorNotFound: () => fail(404, 1004, 'Connector not found'),
  /** UNVERIFIED */
  tunnelInvalid: (message: string) => fail(400, 1001, message),
  /** text seen ("Bad Configuration: Validation failed: …"); code UNVERIFIED. */
  badConfiguration: (message: string) => fail(400, 1055, `Bad Configuration: Validation failed: ${message}`),

  // DNS.
  /** seen */
  dnsCnameConflict: () => fail(400, 81053, 'An A, AAAA, or CNAME record with that host already exists.'),
  /** seen (status UNVERIFIED) */
  dnsCnameExists: () => fail(400, 81054, 'A CNAME record with that host already exists.'),
  /** seen */
  dnsDuplicate: () => fail(400, 81057, 'Record already exists.'),
  /** seen (status UNVERIFIED) */
  dnsRecordNotFound: () => fail(404, 81044, 'Record does not exist.'),
  /** UNVERIFIED */
  dnsQuotaExceeded: () => fail(400, 81045, 'Record quota exceeded.'),
  /** seen (9005); the other 9xxx codes are UNVERIFIED. */
  dnsInvalid: (code: number, message: string) => fail(400, code, message),
  /** UNVERIFIED */
  dnsBatchTooLarge: (limit: number) =>
    fail(400, 81064, `Batch request exceeds the maximum of ${limit} operations for this zone's plan.`),

  // Rulesets (the Rulesets API reports `source.pointer`); codes UNVERIFIED.
  rulesetInvalid: (message: string, pointer?: string) =>
    new CloudflareApiError(400, [{ code: 20021, message, ...(pointer ? { source: { pointer } } : {}) }]),
  /** Text in wirefilter's `Filter parsing error (line:col): …` form (as Cloudflare's docs show it); code UNVERIFIED. */
  expressionInvalid: (message: string, pointer: string) =>
    new CloudflareApiError(400, [{ code: 20021, message, source: { pointer } }]),
  /** The 4,096-character limit is documented; code and text UNVERIFIED. */
  expressionTooLong: (length: number, limit: number, pointer: string) =>
    new CloudflareApiError(400, [
      {
        code: 20021,
        message: `the expression is ${length} characters long; the maximum is ${limit}`,
        source: { pointer },
      },
    ]),
  entrypointNotFound: (phase: string) =>
    fail(404, 10003, `could not find entrypoint ruleset in the ${phase} phase`),
  rulesetNotFound: () => fail(404, 10003, 'could not find ruleset'),
  ruleNotFound: () => fail(404, 10003, 'could not find rule in ruleset'),

  // Access; codes UNVERIFIED.
  accessInvalid: (message: string) => fail(400, 12130, message),
  accessNotFound: (what: string) => fail(404, 12130, `${what} not found`),
  accessConflict: (message: string) => fail(409, 12130, message),

  // Access account limits (the limits are documented, developers.cloudflare.com/cloudflare-one/
  // account-limits/; the status 400, codes and texts are UNVERIFIED).
  accessApplicationLimit: (limit: number) =>
    fail(400, 12141, `Access application limit reached: an account can have at most ${limit} applications`),
  accessServiceTokenLimit: (limit: number) =>
    fail(
      400,
      12142,
      `Access service token limit reached: an account can have at most ${limit} service tokens`,
    ),
  accessReusablePolicyLimit: (limit: number) =>
    fail(
      400,
      12143,
      `Access reusable policy limit reached: an account can have at most ${limit} reusable policies`,
    ),
  accessRulesPerApplication: (limit: number, count: number) =>
    fail(
      400,
      12144,
      `an Access application can have at most ${limit} rules over its policies (this would make ${count})`,
    ),
  accessIpsPerRule: (field: string, limit: number) =>
    fail(400, 12145, `${field} may hold at most ${limit} IP addresses`),
  accessEmailsPerRule: (field: string, limit: number) =>
    fail(400, 12146, `${field} may hold at most ${limit} email addresses`),
} as const;
