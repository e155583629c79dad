import { describe, expect, it } from 'vitest';
import { KubeError } from './status.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';

const labels = { app: 'web', tier: 'front', 'app.kubernetes.io/managed-by': 'tunnel-control-plane', n: '5' };

describe('label selectors', () => {
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=api', false],
    ['app!=api', true],
    ['missing!=x', true],
    ['app in (web, api)', true],
    ['app in (api)', false],
    ['app notin (api,db)', true],
    ['missing notin (x)', true],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['app=web,tier=front', true],
    ['app=web, tier=back', false],
    ['app.kubernetes.io/managed-by=tunnel-control-plane', true],
    ['n>3', true],
    ['n<3', false],
    ['app=', false],
  ])('%j matches: %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each(['app=(', 'in (a)', 'app in a', 'app=bad value', 'app in ()', 'n>x', 'Bad Key=1'])(
    'rejects %j with 400 BadRequest',
    (selector) => {
      let error: unknown;
      try {
        parseLabelSelector(selector);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KubeError);
      expect((error as KubeError).status).toMatchObject({ code: 400, reason: 'BadRequest' });
      expect((error as KubeError).message).toMatch(/^unable to parse requirement: /);
    },
  );
});

describe('field selectors', () => {
  const supported = ['metadata.name', 'metadata.namespace'];
  it.each([
    ['metadata.name=web', true],
    ['metadata.name==web', true],
    ['metadata.name!=web', false],
    ['metadata.name=web,metadata.namespace=ns', true],
    ['metadata.namespace=other', false],
  ])('%j matches: %s', (selector, expected) => {
    expect(
      matchesFields(parseFieldSelector(selector, supported), {
        'metadata.name': 'web',
        'metadata.namespace': 'ns',
      }),
    ).toBe(expected);
  });

  it('rejects unsupported fields', () => {
    expect(() => parseFieldSelector('spec.replicas=1', supported)).toThrow(
      'field label not supported: spec.replicas',
    );
  });
});
