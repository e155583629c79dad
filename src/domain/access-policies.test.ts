import { describe, expect, it } from 'vitest';
import { accessPolicies, appSettings, policiesHash } from './access-policies.js';

describe('accessPolicies', () => {
  const cases: Array<[string, Parameters<typeof accessPolicies>, ReturnType<typeof accessPolicies>]> = [
    [
      'a TCP route admits only its service token',
      [{ tcpLike: true, allowIps: null, access: null }, 'tok'],
      [
        {
          name: 'tunnelplane service token',
          decision: 'non_identity',
          include: [{ service_token: { token_id: 'tok' } }],
        },
      ],
    ],
    [
      'a TCP route without its token yet has no policy',
      [{ tcpLike: true, allowIps: null, access: null }, null],
      [],
    ],
    [
      'a TCP route with an allow-list: the token, from each range',
      [{ tcpLike: true, allowIps: ['10.0.0.0/8', '192.0.2.7'], access: null }, 'tok'],
      [
        {
          name: 'tunnelplane service token from 10.0.0.0/8',
          decision: 'non_identity',
          include: [{ service_token: { token_id: 'tok' } }],
          require: [{ ip: { ip: '10.0.0.0/8' } }],
        },
        {
          name: 'tunnelplane service token from 192.0.2.7',
          decision: 'non_identity',
          include: [{ service_token: { token_id: 'tok' } }],
          require: [{ ip: { ip: '192.0.2.7' } }],
        },
      ],
    ],
    [
      'people on an HTTP route',
      [
        { tcpLike: false, allowIps: null, access: { emails: ['a@b.co'], emailDomains: ['corp.example'] } },
        null,
      ],
      [
        {
          name: 'tunnelplane allowed people',
          decision: 'allow',
          include: [{ email: { email: 'a@b.co' } }, { email_domain: { domain: 'corp.example' } }],
        },
      ],
    ],
    [
      'people from an allow-list',
      [
        { tcpLike: false, allowIps: ['203.0.113.0/24'], access: { emails: ['a@b.co'], emailDomains: [] } },
        null,
      ],
      [
        {
          name: 'tunnelplane allowed people from 203.0.113.0/24',
          decision: 'allow',
          include: [{ email: { email: 'a@b.co' } }],
          require: [{ ip: { ip: '203.0.113.0/24' } }],
        },
      ],
    ],
    [
      'an allow-list alone bypasses Access for the listed sources only',
      [{ tcpLike: false, allowIps: ['203.0.113.0/24', '2001:db8::/32'], access: null }, null],
      [
        {
          name: 'tunnelplane allow-list',
          decision: 'bypass',
          include: [{ ip: { ip: '203.0.113.0/24' } }, { ip: { ip: '2001:db8::/32' } }],
        },
      ],
    ],
    ['an open HTTP route has none', [{ tcpLike: false, allowIps: null, access: null }, null], []],
  ];
  for (const [name, args, expected] of cases)
    it(name, () => expect(accessPolicies(...args)).toEqual(expected));

  it('hashes equal policies equally and any change differently', () => {
    const a = accessPolicies({ tcpLike: false, allowIps: ['10.0.0.0/8'], access: null }, null);
    expect(policiesHash(a)).toBe(policiesHash(structuredClone(a)));
    expect(policiesHash(a)).not.toBe(
      policiesHash(accessPolicies({ tcpLike: false, allowIps: ['10.0.0.0/9'], access: null }, null)),
    );
  });
});

describe('groups and session length', () => {
  const people = { emails: ['a@example.org'], emailDomains: [] };
  it('admit identity-provider groups as OIDC claim rules of the named provider', () => {
    const [p] = accessPolicies(
      {
        tcpLike: false,
        allowIps: null,
        access: { ...people, groups: ['data', 'platform'], idp: { id: 'idp1', claim: 'groups' } },
      },
      null,
    );
    expect(p!.include).toEqual([
      { email: { email: 'a@example.org' } },
      { oidc: { claim_name: 'groups', claim_value: 'data', identity_provider_id: 'idp1' } },
      { oidc: { claim_name: 'groups', claim_value: 'platform', identity_provider_id: 'idp1' } },
    ]);
  });
  it('hash the session length only when it is not the default, so older hashes still hold', () => {
    const policies = accessPolicies({ tcpLike: false, allowIps: null, access: people }, null);
    expect(policiesHash(policies, appSettings(people))).toBe(policiesHash(policies));
    expect(policiesHash(policies, appSettings({ ...people, sessionDuration: '8h' }))).not.toBe(
      policiesHash(policies),
    );
  });
});
