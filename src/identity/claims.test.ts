import { describe, expect, it } from 'vitest';
import { identityFromClaims, userNameFrom } from './claims.js';

const settings = {
  claims: { username: 'preferred_username', email: 'email', groups: 'groups' },
  adminGroups: ['tunnelplane-admins'],
  teamGroupPrefix: 'team-',
};
const base = { iss: 'https://idp.example', sub: 'abc-123' };

describe('identityFromClaims', () => {
  it.each([
    [{ preferred_username: 'ada', email: 'ada@x.test' }, 'ada'],
    [{ preferred_username: 'Ada Lovelace', email: 'ada@x.test' }, 'Ada-Lovelace'],
    [{ email: 'grace.hopper@x.test' }, 'grace.hopper'],
    [{ preferred_username: '   ' }, 'sso-abc-123'],
    [{ preferred_username: '日本' }, 'sso-abc-123'],
    [{ preferred_username: 'x'.repeat(100) }, 'x'.repeat(64)],
  ])('user name from %j is %s', (claims, name) => {
    expect(identityFromClaims({ ...base, ...claims }, settings).username).toBe(name);
  });

  it('keys on issuer and subject, never on the email', () => {
    const id = identityFromClaims({ ...base, email: 'a@b.test' }, settings);
    expect([id.issuer, id.subject, id.email]).toEqual(['https://idp.example', 'abc-123', 'a@b.test']);
    expect(() => identityFromClaims({ iss: 'https://idp.example', email: 'a@b.test' }, settings)).toThrow(
      /sub/,
    );
  });

  it.each([
    [['tunnelplane-admins', 'team-platform'], 'admin', ['platform']],
    [['team-platform', 'team-data', 'team-data'], 'user', ['platform', 'data']],
    [[], 'user', []],
    ['team-solo', 'user', ['solo']],
    [[42, null, 'team-bad name', 'team-'], 'user', []],
  ])('groups %j give role %s and teams %j', (groups, role, teams) => {
    const id = identityFromClaims({ ...base, groups }, settings);
    expect(id.role).toBe(role);
    expect(id.teams).toEqual(teams);
  });

  it('leaves the role and teams alone when no admin groups or team prefix are configured', () => {
    const id = identityFromClaims(
      { ...base, groups: ['tunnelplane-admins', 'team-x'] },
      {
        ...settings,
        adminGroups: [],
        teamGroupPrefix: '',
      },
    );
    expect(id.role).toBeNull();
    expect(id.teams).toBeNull();
  });

  it('reads the claims the operator names', () => {
    const id = identityFromClaims(
      { ...base, upn: 'kim@corp', roles: ['ops'] },
      {
        claims: { username: 'upn', email: 'mail', groups: 'roles' },
        adminGroups: ['ops'],
        teamGroupPrefix: '',
      },
    );
    expect([id.username, id.role]).toEqual(['kim@corp', 'admin']);
  });

  it('userNameFrom trims separators', () => {
    expect(userNameFrom('--a b--')).toBe('a-b');
    expect(userNameFrom('@@')).toBe('@@');
    expect(userNameFrom('---')).toBeNull();
  });
});
