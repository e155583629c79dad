// Test support: a compact validator for the JSON-schema subset Cloudflare's OpenAPI 3.0
// description uses ($ref, type, nullable, enum, allOf/anyOf/oneOf with discriminator,
// properties/required/additionalProperties, items, length/size/range bounds, pattern,
// format), and a lookup from (method, path, status) to the documented response schema.
// Two deliberate leniencies, both reported back so tests can bound them:
//  - a `null` in an optional property the schema types as non-nullable (the published
//    description omits `nullable` where the live API sends null, e.g. `deleted_at`);
//  - for error statuses, when the documented schema is `allOf[<success>, <…failure>]`
//    (unsatisfiable: `success` would be both true and false) only the failure part is used.
import { readFileSync, existsSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';

type Schema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components: { schemas: Record<string, Schema>; responses?: Record<string, Schema> };
}

export interface SchemaIssue {
  path: string;
  message: string;
}

export interface ResponseCheck {
  /** The documented path template, e.g. `/accounts/{account_id}/cfd_tunnel`, or null. */
  operation: string | null;
  /** The response key used (`200`, `4XX`…), or null when none is documented. */
  statusKey: string | null;
  issues: SchemaIssue[];
  /** JSON pointers where a null was accepted in a non-nullable optional property. */
  nullsAccepted: string[];
}

/** Keywords that carry no constraint for a response check. */
const ANNOTATIONS = new Set([
  'description',
  'example',
  'title',
  'default',
  'readOnly',
  'writeOnly',
  'deprecated',
  'externalDocs',
  'x-auditable',
  'x-stainless-terraform-configurability',
]);
const HANDLED = new Set([
  '$ref',
  'type',
  'nullable',
  'enum',
  'allOf',
  'anyOf',
  'oneOf',
  'discriminator',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'format',
  'minProperties',
  'maxProperties',
]);

export function loadOpenApi(path: string): OpenApiDocument {
  if (!existsSync(path)) {
    throw new Error(
      `Cloudflare OpenAPI subset is absent: expected it at ${path}. The schema suite cannot run without it.`,
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}

const FORMATS: Record<string, (value: string) => boolean> = {
  'date-time': (v) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) &&
    !Number.isNaN(Date.parse(v)),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  email: (v) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v),
  ipv4: (v) => isIPv4(v),
  ipv6: (v) => isIPv6(v),
  hostname: (v) =>
    /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/i.test(
      v,
    ),
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'object':
      return typeOf(value) === 'object';
    default:
      return typeOf(value) === type;
  }
}

export function createOpenApiChecker(doc: OpenApiDocument) {
  const unknownKeywords = new Set<string>();
  const pathPatterns = Object.keys(doc.paths).map((template) => ({
    template,
    literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
    regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));

  function resolve(schema: Schema): Schema {
    let current = schema;
    for (let depth = 0; typeof current.$ref === 'string'; depth += 1) {
      if (depth > 50) throw new Error(`$ref loop at ${String(current.$ref)}`);
      const ref = current.$ref;
      const [, section, name] = /^#\/components\/(schemas|responses)\/(.+)$/.exec(ref) ?? [];
      const target =
        section === 'responses' ? doc.components.responses?.[name ?? ''] : doc.components.schemas[name ?? ''];
      if (!target) throw new Error(`unresolvable $ref ${ref}`);
      current = target;
    }
    return current;
  }

  function validate(value: unknown, rawSchema: Schema, path: string, nulls: string[]): SchemaIssue[] {
    const schema = resolve(rawSchema);
    const issues: SchemaIssue[] = [];
    const add = (message: string, at = path) => issues.push({ path: at || '/', message });
    for (const key of Object.keys(schema)) {
      if (!HANDLED.has(key) && !ANNOTATIONS.has(key) && !key.startsWith('x-')) unknownKeywords.add(key);
    }

    if (
      value === null &&
      (schema.nullable === true || (Array.isArray(schema.enum) && schema.enum.includes(null)))
    ) {
      return issues;
    }
    if (typeof schema.type === 'string' && !matchesType(value, schema.type)) {
      add(`expected ${schema.type}, got ${typeOf(value)}`);
      return issues;
    }
    if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
      add(`value ${JSON.stringify(value)} not in enum ${JSON.stringify(schema.enum)}`);
    }
    for (const sub of (schema.allOf as Schema[] | undefined) ?? [])
      issues.push(...validate(value, sub, path, nulls));
    if (Array.isArray(schema.anyOf)) {
      const attempts = (schema.anyOf as Schema[]).map((sub) => {
        const branchNulls: string[] = [];
        return { issues: validate(value, sub, path, branchNulls), nulls: branchNulls };
      });
      const passing = attempts.find((a) => a.issues.length === 0);
      if (passing) nulls.push(...passing.nulls);
      else add(`matches none of anyOf: ${summarize(attempts.map((a) => a.issues))}`);
    }
    if (Array.isArray(schema.oneOf)) {
      const discriminator = schema.discriminator as
        { propertyName?: string; mapping?: Record<string, string> } | undefined;
      const tag =
        discriminator?.propertyName && typeOf(value) === 'object'
          ? (value as Record<string, unknown>)[discriminator.propertyName]
          : undefined;
      const mapped = typeof tag === 'string' ? discriminator?.mapping?.[tag] : undefined;
      if (mapped) {
        issues.push(...validate(value, { $ref: mapped }, path, nulls));
      } else {
        const attempts = (schema.oneOf as Schema[]).map((sub) => {
          const branchNulls: string[] = [];
          return { issues: validate(value, sub, path, branchNulls), nulls: branchNulls };
        });
        const passing = attempts.filter((a) => a.issues.length === 0);
        if (passing.length === 1) nulls.push(...(passing[0]?.nulls ?? []));
        else if (passing.length === 0)
          add(`matches none of oneOf: ${summarize(attempts.map((a) => a.issues))}`);
        else add(`matches ${passing.length} branches of oneOf (exactly one expected)`);
      }
    }

    if (typeOf(value) === 'object') {
      const obj = value as Record<string, unknown>;
      const required = (schema.required as string[] | undefined) ?? [];
      for (const key of required) if (!(key in obj)) add(`missing required property "${key}"`);
      const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
      for (const [key, sub] of Object.entries(properties)) {
        if (!(key in obj)) continue;
        const at = `${path}/${key}`;
        if (obj[key] === null && !required.includes(key)) {
          const strict = validate(null, sub, at, []);
          if (strict.length > 0) {
            nulls.push(at);
            continue;
          }
        }
        issues.push(...validate(obj[key], sub, at, nulls));
      }
      const extra = schema.additionalProperties;
      if (extra === false) {
        for (const key of Object.keys(obj)) if (!(key in properties)) add(`unexpected property "${key}"`);
      } else if (typeof extra === 'object' && extra !== null) {
        for (const key of Object.keys(obj)) {
          if (!(key in properties))
            issues.push(...validate(obj[key], extra as Schema, `${path}/${key}`, nulls));
        }
      }
      const count = Object.keys(obj).length;
      if (typeof schema.minProperties === 'number' && count < schema.minProperties)
        add(`fewer than ${schema.minProperties} properties`);
      if (typeof schema.maxProperties === 'number' && count > schema.maxProperties)
        add(`more than ${schema.maxProperties} properties`);
    }
    if (Array.isArray(value)) {
      if (schema.items && typeof schema.items === 'object') {
        value.forEach((item, i) =>
          issues.push(...validate(item, schema.items as Schema, `${path}/${i}`, nulls)),
        );
      }
      if (typeof schema.minItems === 'number' && value.length < schema.minItems)
        add(`fewer than ${schema.minItems} items`);
      if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
        add(`more than ${schema.maxItems} items`);
      if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
        add('items are not unique');
    }
    if (typeof value === 'string') {
      if (typeof schema.minLength === 'number' && value.length < schema.minLength)
        add(`shorter than ${schema.minLength}`);
      if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
        add(`longer than ${schema.maxLength}`);
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
        add(`does not match ${schema.pattern}`);
      const check = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
      if (check && !check(value)) add(`not a valid ${String(schema.format)}: ${JSON.stringify(value)}`);
    }
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum)
        add(`below minimum ${schema.minimum}`);
      if (typeof schema.maximum === 'number' && value > schema.maximum)
        add(`above maximum ${schema.maximum}`);
    }
    return issues;
  }

  function summarize(branches: SchemaIssue[][]): string {
    const best = [...branches].sort((a, b) => a.length - b.length)[0] ?? [];
    return best
      .slice(0, 3)
      .map((i) => `${i.path} ${i.message}`)
      .join('; ');
  }

  /** The documented path template a concrete API path falls under. */
  function operationFor(method: string, path: string): string | null {
    const candidates = pathPatterns
      .filter((p) => p.regex.test(path) && doc.paths[p.template]?.[method.toLowerCase()])
      .sort((a, b) => b.literals - a.literals);
    return candidates[0]?.template ?? null;
  }

  function responseSchema(
    method: string,
    template: string,
    status: number,
  ): { key: string; schema: Schema } | null {
    const responses = doc.paths[template]?.[method.toLowerCase()]?.responses ?? {};
    const family = `${String(status)[0]}XX`;
    const key = [String(status), family, family.toLowerCase(), 'default'].find((k) => k in responses);
    if (!key) return null;
    const response = resolve(responses[key] as Schema);
    const content = response.content as Record<string, { schema?: Schema }> | undefined;
    const schema = content?.['application/json']?.schema;
    if (!schema) return null;
    if (status >= 400 && Array.isArray(schema.allOf)) {
      const failure = (schema.allOf as Schema[]).filter(
        (s) => typeof s.$ref === 'string' && /failure/i.test(s.$ref),
      );
      if (failure.length > 0) return { key, schema: { allOf: failure } };
    }
    return { key, schema };
  }

  return {
    operationFor,
    /** Validates one response body against the description. */
    checkResponse(method: string, path: string, status: number, body: unknown): ResponseCheck {
      const operation = operationFor(method, path);
      if (!operation) return { operation: null, statusKey: null, issues: [], nullsAccepted: [] };
      const documented = responseSchema(method, operation, status);
      if (!documented) {
        return {
          operation,
          statusKey: null,
          issues: [{ path: '/', message: `no documented response for ${status}` }],
          nullsAccepted: [],
        };
      }
      const nullsAccepted: string[] = [];
      const issues = validate(body, documented.schema, '', nullsAccepted);
      return { operation, statusKey: documented.key, issues, nullsAccepted };
    },
    /** Validates a value against a named component schema. */
    checkSchema(name: string, value: unknown): { issues: SchemaIssue[]; nullsAccepted: string[] } {
      const nullsAccepted: string[] = [];
      return {
        issues: validate(value, { $ref: `#/components/schemas/${name}` }, '', nullsAccepted),
        nullsAccepted,
      };
    },
    validate(value: unknown, schema: Schema): SchemaIssue[] {
      return validate(value, schema, '', []);
    },
    /** Constraint keywords met that this validator does not implement (should stay empty). */
    unknownKeywords: () => [...unknownKeywords],
  };
}
