import { describe, expect, it } from 'vitest';
import { fieldErrorText, invalid } from './status.js';
import {
  goValue,
  isDNS1035Label,
  isDNS1123Subdomain,
  isQualifiedName,
  labelValueErrors,
  validateDeployment,
  validateSecret,
  validateService,
} from './validation.js';

const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('name rules', () => {
  it.each([
    ['tca-abc', []],
    ['a', []],
    ['a'.repeat(63), []],
    ['a'.repeat(64), ['must be no more than 63 characters']],
    ['1abc', [DNS1035_MSG]],
    ['Abc', [DNS1035_MSG]],
    ['a.b', [DNS1035_MSG]],
    ['abc-', [DNS1035_MSG]],
  ])('DNS-1035 label %j', (name, errors) => {
    expect(isDNS1035Label(name)).toEqual(errors);
  });

  it.each([
    ['tunnel-access.example', []],
    ['1abc', []],
    ['a'.repeat(253), []],
    ['a'.repeat(254), ['must be no more than 253 characters']],
    ['UPPER', [SUBDOMAIN_MSG]],
    ['a..b', [SUBDOMAIN_MSG]],
  ])('RFC 1123 subdomain %j', (name, errors) => {
    expect(isDNS1123Subdomain(name)).toEqual(errors);
  });
});

describe('label keys and values', () => {
  it.each([
    ['app', 0],
    ['app.kubernetes.io/name', 0],
    ['tunnel-control-plane.example/route-id', 0],
    ['a'.repeat(63), 0],
    ['a'.repeat(64), 1],
    ['/name', 1],
    ['Prefix.Example/name', 1],
    ['a/b/c', 1],
    ['bad key', 1],
    ['example.com/', 2],
  ])('qualified name %j has %i error(s)', (key, count) => {
    expect(isQualifiedName(key)).toHaveLength(count);
  });

  it('words key errors like apimachinery', () => {
    expect(isQualifiedName('a'.repeat(64))).toEqual(['name part must be no more than 63 characters']);
    expect(isQualifiedName('/x')).toEqual(['prefix part must be non-empty']);
  });

  it.each([
    ['', []],
    ['v1.2_3-x', []],
    ['a'.repeat(64), ['must be no more than 63 characters']],
    ['-x', [LABEL_VALUE_MSG]],
    ['has space', [LABEL_VALUE_MSG]],
  ])('label value %j', (value, errors) => {
    expect(labelValueErrors(value)).toEqual(errors);
  });
});

describe('goValue', () => {
  it.each([
    ['x', '"x"'],
    [3, '3'],
    [{ b: '2', a: '1' }, 'map[string]string{"a":"1", "b":"2"}'],
    [['a'], '[]string{"a"}'],
  ] as const)('%j', (value, text) => {
    expect(goValue(value as never)).toBe(text);
  });
});

const deployment = (overrides: Record<string, unknown> = {}) => ({
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
    },
    ...overrides,
  },
});

describe('per-kind validation', () => {
  it('accepts a well-formed Deployment', () => {
    expect(validateDeployment(deployment(), undefined)).toEqual([]);
  });

  it('reports selector/template mismatch and missing containers', () => {
    const errors = validateDeployment(
      deployment({ template: { metadata: { labels: { app: 'other' } }, spec: { containers: [] } } }),
      undefined,
    ).map(fieldErrorText);
    expect(errors).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
      'spec.template.spec.containers: Required value',
    ]);
  });

  it('keeps the selector immutable', () => {
    const old = deployment();
    const changed = deployment({
      selector: { matchLabels: { app: 'web2' } },
      template: {
        metadata: { labels: { app: 'web2' } },
        spec: { containers: [{ name: 'app', image: 'x' }] },
      },
    });
    expect(validateDeployment(changed, old).map(fieldErrorText)).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });

  it('checks Service names as RFC 1035 labels and requires ports', () => {
    const errors = validateService({ metadata: { name: '9svc' }, spec: {} }, undefined).map(fieldErrorText);
    expect(errors).toEqual([
      `metadata.name: Invalid value: "9svc": ${DNS1035_MSG}`,
      'spec.ports: Required value',
    ]);
  });

  it('requires names on multi-port Services and valid ports', () => {
    const errors = validateService(
      { metadata: { name: 's' }, spec: { ports: [{ port: 80 }, { name: 'b', port: 70000 }] } },
      undefined,
    ).map(fieldErrorText);
    expect(errors).toEqual([
      'spec.ports[0].name: Required value',
      'spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
  });

  it('checks Secret keys and type immutability', () => {
    const errors = validateSecret(
      { metadata: { name: 's' }, type: 'Other', data: { 'bad key': 'eA==' } },
      { metadata: { name: 's' }, type: 'Opaque' },
    ).map(fieldErrorText);
    expect(errors[0]).toMatch(
      /^data\[bad key\]: Invalid value: "bad key": a valid config key must consist of/,
    );
    expect(errors[1]).toBe('type: Invalid value: "Other": field is immutable');
  });

  it('aggregates several errors into one Invalid status like the real server', () => {
    const errors = validateService(
      { metadata: { name: 'S', labels: { ok: 'bad value' } }, spec: { ports: [{ port: 1 }] } },
      undefined,
    );
    const status = invalid('', 'Service', 'S', errors).status;
    expect(status.code).toBe(422);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toBe(
      `Service "S" is invalid: [metadata.name: Invalid value: "S": ${DNS1035_MSG}, metadata.labels: Invalid value: "bad value": ${LABEL_VALUE_MSG}]`,
    );
    expect(status.details?.causes).toEqual([
      { reason: 'FieldValueInvalid', message: `Invalid value: "S": ${DNS1035_MSG}`, field: 'metadata.name' },
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: "bad value": ${LABEL_VALUE_MSG}`,
        field: 'metadata.labels',
      },
    ]);
  });
});
