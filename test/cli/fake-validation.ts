/**
 * How the fake refuses a request, as the real server does: one error class with the API's code,
 * status and details, and the JSON-schema checks of its routes (the subset of JSON Schema they
 * use, with the real server's coercion and its `Invalid request: …` sentences and `issues`).
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface Schema {
  type?: 'object' | 'string' | 'number' | 'integer' | 'array' | 'boolean';
  required?: string[];
  minProperties?: number;
  /** true: any other keys (checked by the handler, as the server's service does). */
  additionalProperties?: boolean;
  properties?: Record<string, Schema>;
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  enum?: string[];
  nullable?: boolean;
  default?: unknown;
}

interface Issue {
  where: string;
  path: string;
  message: string;
}

/** Coerces `value` to the schema's type where the real server's validator would. */
function coerce(s: Schema, value: unknown): unknown {
  if (value === undefined) return value;
  if (value === null) {
    // Ajv's coerceTypes: null becomes the type's empty value unless the schema allows null.
    if (s.nullable) return value;
    if (s.type === 'number' || s.type === 'integer') return 0;
    if (s.type === 'string') return '';
    if (s.type === 'boolean') return false;
    return value;
  }
  if (s.type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
  if ((s.type === 'number' || s.type === 'integer') && typeof value === 'string' && value !== '') {
    return Number.isNaN(Number(value)) ? value : Number(value);
  }
  return value;
}

function check(s: Schema, raw: unknown, path: string, where: string, out: Issue[]): unknown {
  const at = (message: string, p = path) => out.push({ where, path: p, message });
  const value = coerce(s, raw);
  if (value === null && s.nullable) return value;
  switch (s.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        at('must be object');
        return value;
      }
      const obj = value as Record<string, unknown>;
      for (const k of s.required ?? []) if (!(k in obj)) at(`must have required property '${k}'`, path || k);
      if (s.minProperties !== undefined && Object.keys(obj).length < s.minProperties)
        at(`must NOT have fewer than ${s.minProperties} properties`);
      if (s.additionalProperties === false) {
        for (const k of Object.keys(obj))
          if (!(k in (s.properties ?? {}))) at('must NOT have additional properties');
      }
      for (const [k, sub] of Object.entries(s.properties ?? {})) {
        if (obj[k] === undefined && sub.default !== undefined) obj[k] = sub.default;
        else if (obj[k] !== undefined) obj[k] = check(sub, obj[k], `${path}/${k}`, where, out);
      }
      return obj;
    }
    case 'array':
      if (!Array.isArray(value)) {
        at('must be array');
        return value;
      }
      if (s.maxItems !== undefined && value.length > s.maxItems)
        at(`must NOT have more than ${s.maxItems} items`);
      return value.map((x, i) => (s.items ? check(s.items, x, `${path}/${i}`, where, out) : x));
    case 'string':
      if (typeof value !== 'string') {
        at('must be string');
        return value;
      }
      if (s.maxLength !== undefined && value.length > s.maxLength)
        at(`must NOT have more than ${s.maxLength} characters`);
      if (s.minLength !== undefined && value.length < s.minLength)
        at(`must NOT have fewer than ${s.minLength} characters`);
      if (s.enum && !s.enum.includes(value)) at('must be equal to one of the allowed values');
      return value;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || Number.isNaN(value)) {
        at(`must be ${s.type}`);
        return value;
      }
      if (s.type === 'integer' && !Number.isInteger(value)) at('must be integer');
      if (s.maximum !== undefined && value > s.maximum) at(`must be <= ${s.maximum}`);
      if (s.minimum !== undefined && value < s.minimum) at(`must be >= ${s.minimum}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') at('must be boolean');
      return value;
    default:
      return value;
  }
}

/** The value with defaults and coercions applied, or the real server's `request.invalid`. */
export function validate<T>(schema: Schema, value: unknown, where: 'params' | 'body' | 'querystring'): T {
  const issues: Issue[] = [];
  const out = check(schema, value, '', where, issues);
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new HttpError(
      400,
      'request.invalid',
      `Invalid request: ${first.where}${first.path ? ` ${first.path}` : ''} ${first.message}.`,
      { issues },
    );
  }
  return out as T;
}

const str = (maxLength: number): Schema => ({ type: 'string', maxLength });
const wait: Schema = { type: 'number', minimum: 0, maximum: 120, default: 30 };
/** `ttlSeconds`: a minute to 30 days. */
const ttl: Schema = { type: 'integer', minimum: 60, maximum: 2592000 };

/** The schemas of the real server's routes (src/server), for the paths the fake implements. */
export const SCHEMAS = {
  tunnelParams: { type: 'object', required: ['tunnel'], properties: { tunnel: str(64) } },
  routeParams: { type: 'object', properties: { tunnel: str(64), route: str(300) } },
  tokenParams: { type: 'object', properties: { id: str(64) } },
  userParams: { type: 'object', properties: { user: str(100) } },
  pocParams: { type: 'object', required: ['name'], properties: { name: str(64) } },
  waitQuery: { type: 'object', additionalProperties: false, properties: { wait } },
  pageQuery: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, cursor: str(200) },
  },
  tunnelsQuery: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
      cursor: str(200),
      team: str(64),
    },
  },
  adminTunnelsQuery: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
      cursor: str(200),
      owner: str(100),
    },
  },
  serviceQuery: {
    type: 'object',
    required: ['service'],
    additionalProperties: false,
    properties: { service: str(300), wait },
  },
  pocServiceQuery: { type: 'object', properties: { service: str(300) } },
  tunnelBody: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: str(64),
      configMode: { type: 'string', enum: ['local', 'remote'] },
      team: str(64),
      ttlSeconds: ttl,
    },
  },
  routeBody: {
    type: 'object',
    required: ['service'],
    additionalProperties: false,
    properties: {
      service: str(300),
      name: str(64),
      hostname: str(253),
      allowIps: { type: 'array', maxItems: 50, items: str(64) },
      access: {
        type: 'object',
        additionalProperties: false,
        properties: {
          emails: { type: 'array', maxItems: 50, items: str(320) },
          emailDomains: { type: 'array', maxItems: 50, items: str(253) },
          sessionDuration: str(16),
        },
      },
      originRequest: { type: 'object', additionalProperties: true },
      ttlSeconds: ttl,
    },
  },
  routePatchBody: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      service: str(300),
      allowIps: { type: 'array', nullable: true, maxItems: 50, items: str(64) },
      access: {
        type: 'object',
        nullable: true,
        additionalProperties: false,
        properties: {
          emails: { type: 'array', maxItems: 50, items: str(320) },
          emailDomains: { type: 'array', maxItems: 50, items: str(253) },
          sessionDuration: str(16),
        },
      },
      originRequest: { type: 'object', nullable: true, additionalProperties: true },
    },
  },
  tokenBody: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
      scopes: { type: 'array', maxItems: 3, items: str(16) },
    },
  },
  passwordChangeBody: {
    type: 'object',
    required: ['currentPassword', 'newPassword'],
    additionalProperties: false,
    properties: { currentPassword: str(1024), newPassword: str(1024) },
  },
  userBody: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: str(100), password: str(1024), role: { type: 'string', enum: ['user', 'admin'] } },
  },
  userPatchBody: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { role: { type: 'string', enum: ['user', 'admin'] }, disabled: { type: 'boolean' } },
  },
  passwordBody: {
    type: 'object',
    required: ['password'],
    additionalProperties: false,
    properties: { password: str(1024) },
  },
  teamBody: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: str(100),
      quotas: {
        type: 'object',
        additionalProperties: false,
        properties: {
          tunnels: { type: 'integer', minimum: 0, maximum: 100000, nullable: true },
          routes: { type: 'integer', minimum: 0, maximum: 1000000, nullable: true },
        },
      },
    },
  },
  teamParams: { type: 'object', required: ['team'], properties: { team: str(100) } },
  memberParams: {
    type: 'object',
    required: ['team', 'user'],
    properties: { team: str(100), user: str(100) },
  },
  deviceTokenBody: {
    type: 'object',
    required: ['deviceCode'],
    additionalProperties: false,
    properties: {
      deviceCode: { type: 'string', minLength: 1, maxLength: 200 },
      tokenName: { type: 'string', minLength: 1, maxLength: 100 },
      expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
    },
  },
  quotasBody: {
    type: 'object',
    additionalProperties: false,
    properties: {
      tunnels: { type: 'integer', minimum: 0, maximum: 100000, nullable: true },
      routes: { type: 'integer', minimum: 0, maximum: 1000000, nullable: true },
    },
  },
} satisfies Record<string, Schema>;
