/**
 * The account and admin verbs against the fake server: tokens with scopes, events, teams and
 * team-owned tunnels, passwd, `admin users …`, `admin teams …`, `admin tunnels`, and the
 * explanations of the identity error codes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { baseEnv, fakeTerminal, tunnelctl, userEnv } from './harness.js';

let fake: FakeServer;
let user1: Record<string, string | undefined>;
let admin: Record<string, string | undefined>;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  user1 = userEnv(fake.url, 'user1');
  admin = userEnv(fake.url, 'admin');
});

const json = (stdout: string) => JSON.parse(stdout);
const tokenEnv = (secret: string) => baseEnv({ CONTROL_PLANE: fake.url, TUNNELCTL_TOKEN: secret });

describe('tokens', () => {
  it('create prints the secret alone on stdout, what it may do on stderr; list shows scopes', async () => {
    const r = await tunnelctl(['tokens', 'create', 'ci', '--scope', 'read', '--expires-in-days', '30'], {
      env: user1,
    });
    expect(r.code).toBe(0);
    const [tok] = [...fake.tokens.values()];
    expect(r.stdout).toBe(`${tok!.secret}\n`);
    expect(r.stderr).toContain(`Token ci (${tok!.id}) created with scope read, expiring`);
    expect(r.stderr).toContain('shown only this once');
    expect(tok).toMatchObject({ name: 'ci', scopes: ['read'] });
    expect(fake.requests.at(-1)?.body).toEqual({ name: 'ci', scopes: ['read'], expiresInDays: 30 });

    const list = await tunnelctl(['tokens', 'list'], { env: user1 });
    expect(list.stdout).toMatch(/^ID\s+NAME\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES\n/);
    expect(list.stdout).toMatch(new RegExp(`${tok!.id}\\s+ci\\s+read\\s+\\d+s ago\\s+never\\s+20\\d\\d-`));
    expect(list.stdout).not.toContain(tok!.secret);
    const asJson = json((await tunnelctl(['tokens', 'list', '-o', 'json'], { env: user1 })).stdout);
    expect(asJson).toEqual([expect.objectContaining({ id: tok!.id, scopes: ['read'] })]);
  });

  it('--scope repeated or comma-separated; a wrong one is a usage error', async () => {
    const r = await tunnelctl(
      ['tokens', 'create', 'w', '--scope', 'read', '--scope', 'write', '-o', 'json'],
      {
        env: user1,
      },
    );
    expect(json(r.stdout).token.scopes).toEqual(['read', 'write']);
    const c = await tunnelctl(['tokens', 'create', 'w2', '--scope', 'read,write', '-o', 'yaml'], {
      env: user1,
    });
    expect(c.stdout).toContain('secret: tp_');
    const bad = await tunnelctl(['tokens', 'create', 'x', '--scope', 'everything'], { env: user1 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scope must be read, write or admin, not "everything"');
  });

  it('a read token cannot change anything: a clear auth.scope message, exit 1', async () => {
    await tunnelctl(['tokens', 'create', 'ro', '--scope', 'read'], { env: user1 });
    const secret = [...fake.tokens.values()][0]!.secret;
    const list = await tunnelctl(['list'], { env: tokenEnv(secret) });
    expect(list.code).toBe(0);
    const r = await tunnelctl(['create'], { env: tokenEnv(secret) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: The token in TUNNELCTL_TOKEN lacks the "write" scope (auth.scope): use a token that has it (tunnelctl tokens create NAME --scope write, made with your password), or your password (USERPASS)\n',
    );
  });

  it('a token cannot mint a broader one: token.exceeds explained', async () => {
    await tunnelctl(['tokens', 'create', 'ro', '--scope', 'read'], { env: user1 });
    const secret = [...fake.tokens.values()][0]!.secret;
    // Creating is a change: a read token is refused that first; a write-only one lacks read.
    await tunnelctl(['tokens', 'create', 'wo', '--scope', 'write'], { env: user1 });
    const wo = [...fake.tokens.values()].find((t) => t.name === 'wo')!.secret;
    const r = await tunnelctl(['tokens', 'create', 'more', '--scope', 'read'], { env: tokenEnv(wo) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(token.exceeds): a token gets at most the scopes and lifetime');
    const ro = await tunnelctl(['tokens', 'create', 'more'], { env: tokenEnv(secret) });
    expect(ro.stderr).toContain('(auth.scope)');
    const admin = await tunnelctl(['tokens', 'create', 'adm', '--scope', 'admin'], { env: user1 });
    expect(admin.stderr).toContain('You cannot give a token the "admin" scope');
  });

  it('revoke by id or by name; an unknown one lists yours', async () => {
    await tunnelctl(['tokens', 'create', 'one'], { env: user1 });
    await tunnelctl(['tokens', 'create', 'two'], { env: user1 });
    const [one, two] = [...fake.tokens.values()];
    const byId = await tunnelctl(['tokens', 'revoke', one!.id], { env: user1 });
    expect(byId.code).toBe(0);
    expect(byId.stderr).toContain(`Token ${one!.id} revoked.`);
    const unknown = await tunnelctl(['tokens', 'revoke', 'nope'], { env: user1 });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`error: You have no API token nope; your tokens: two (${two!.id})\n`);
    const byName = await tunnelctl(['tokens', 'revoke', 'two', '-o', 'json'], { env: user1 });
    expect(json(byName.stdout)).toEqual({ id: two!.id, revoked: true });
    expect(fake.tokens.size).toBe(0);
  });

  it('revoking the token login saved says to log in again', async () => {
    const env = baseEnv();
    await tunnelctl(['login', '--server', fake.url], { env: { ...env, USERPASS: 'user1:user1password' } });
    const [tok] = [...fake.tokens.values()];
    const r = await tunnelctl(['tokens', 'revoke', tok!.id], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('That was the token tunnelctl login saved: run tunnelctl login again.');
  });
});

describe('events', () => {
  it('a table newest first, refusals with their code; -o json is the page; --limit pages', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    await tunnelctl(['tokens', 'create', 'ci'], { env: user1 });
    await tunnelctl(['create', 'web', 'ftp://nope'], { env: user1 });
    const r = await tunnelctl(['events'], { env: user1 });
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME$/);
    expect(rows[1]).toMatch(
      /user1\s+POST \/api\/v1\/tunnels\/:tunnel\/routes\s+\S+\s+error \(route\.invalid_service\)$/,
    );
    expect(rows[2]).toMatch(/user1\s+token\.create\s+ci\s+ok$/);
    const page = json((await tunnelctl(['events', '--limit', '1', '-o', 'json'], { env: user1 })).stdout);
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toEqual(expect.any(String));
    const more = await tunnelctl(['events', '--limit', '1'], { env: user1 });
    expect(more.stderr).toContain(`Older events: tunnelctl events --cursor ${page.nextCursor} --limit 1`);
    const next = await tunnelctl(['events', '--limit', '1', '--cursor', page.nextCursor], { env: user1 });
    expect(next.stdout).toContain('token.create');
    const bad = await tunnelctl(['events', '--limit', '0'], { env: user1 });
    expect(bad.code).toBe(2);
  });
});

describe('teams and team tunnels', () => {
  beforeEach(() => {
    fake.addTeam('platform', ['user1']);
  });

  it('teams lists mine (table, name, json)', async () => {
    expect((await tunnelctl(['teams'], { env: user1 })).stdout).toBe('NAME\nplatform\n');
    expect((await tunnelctl(['teams', '-o', 'name'], { env: user1 })).stdout).toBe('platform\n');
    expect(json((await tunnelctl(['teams', '-o', 'json'], { env: user1 })).stdout)).toEqual([
      { name: 'platform' },
    ]);
    const none = await tunnelctl(['teams'], { env: userEnv(fake.url, 'user2') });
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('You are in no team');
  });

  it('create NAME --team TEAM: the team owns it; list shows an OWNER column; --team filters', async () => {
    const r = await tunnelctl(['create', 'teamwork', '--team', 'platform', '-o', 'json'], { env: user1 });
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ name: 'teamwork', owner: 'team:platform' });
    expect(fake.requests.find((q) => q.method === 'POST')?.body).toEqual({
      name: 'teamwork',
      team: 'platform',
    });
    fake.seedTunnel('user1', { name: 'mine' });
    const list = await tunnelctl(['tunnel', 'list'], { env: user1 });
    expect(list.stdout).toMatch(/^NAME\s+OWNER\s+MODE\s+PHASE\s+ROUTES\s+AGE\n/);
    expect(list.stdout).toMatch(/teamwork\s+team:platform\s+local/);
    expect(list.stdout).toMatch(/mine\s+user1\s+local/);
    const poc = await tunnelctl(['list'], { env: user1 });
    expect(poc.stdout).toMatch(/^TUNNEL\s+OWNER\s+MODE/);
    const team = await tunnelctl(['list', '--team', 'platform', '-o', 'name'], { env: user1 });
    expect(team.stdout).toBe('teamwork\n');
    expect(fake.requests.at(-1)?.query).toMatchObject({ team: 'platform' });
    // Another member manages it too.
    fake.teams.get('platform')!.members.set('user2', { source: 'manual', since: new Date().toISOString() });
    const del = await tunnelctl(['delete', 'teamwork'], { env: userEnv(fake.url, 'user2') });
    expect(del.code).toBe(0);
  });

  it('a list without team tunnels keeps its columns', async () => {
    fake.seedTunnel('user1', { name: 'mine' });
    const list = await tunnelctl(['tunnel', 'list'], { env: user1 });
    expect(list.stdout).toMatch(/^NAME\s+MODE\s+PHASE\s+ROUTES\s+AGE\n/);
  });

  it('create --team (random name), tunnel create --team; a team you are not in lists yours', async () => {
    const r = await tunnelctl(['tunnel', 'create', '--team', 'platform', '-o', 'json'], { env: user1 });
    expect(json(r.stdout).owner).toBe('team:platform');
    const bad = await tunnelctl(['create', '--team', 'finance'], { env: user1 });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'error: You are not in a team named "finance" (team.not_found); your teams: platform\n',
    );
    const list = await tunnelctl(['list', '--team', 'finance'], { env: userEnv(fake.url, 'user2') });
    expect(list.stderr).toContain('(team.not_found): you are in no team');
  });

  it('usage errors: --team on a route, the name twice', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const route = await tunnelctl(['create', 'web', 'http://localhost:1', '--team', 'platform'], {
      env: user1,
    });
    expect(route.code).toBe(2);
    expect(route.stderr).toContain('--team applies to creating a tunnel');
    const twice = await tunnelctl(['create', 'a', '--name', 'b', '--team', 'platform'], { env: user1 });
    expect(twice.code).toBe(2);
    const lone = await tunnelctl(['create', 'a'], { env: user1 });
    expect(lone.stderr).toContain('Missing parameter: SERVICE');
  });
});

describe('passwd', () => {
  it('--password-stdin: two lines, current then new; the new one works', async () => {
    const r = await tunnelctl(['passwd', '--password-stdin'], {
      env: user1,
      stdin: 'user1password\nbrand-new-secret\n',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Password changed');
    expect(r.stderr).toContain('USERPASS still holds the old password: update it.');
    expect(fake.users.get('user1')!.password).toBe('brand-new-secret');
    expect(fake.requests.at(-1)?.body).toEqual({
      currentPassword: 'user1password',
      newPassword: 'brand-new-secret',
    });
  });

  it('on a terminal: the current one, the new one twice, without echo', async () => {
    const stdin = fakeTerminal();
    const run = tunnelctl(['passwd', '-o', 'json'], { env: user1, stdin });
    stdin.write('user1password\r');
    stdin.write('another-secret\r');
    stdin.write('another-secret\r');
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Current password: ');
    expect(r.stderr).toContain('New password: ');
    expect(r.stderr).toContain('New password again: ');
    expect(r.stderr).not.toContain('another-secret');
    expect(json(r.stdout)).toEqual({ tokensRevoked: 0 });
    expect(fake.users.get('user1')!.password).toBe('another-secret');
  });

  it('refusals: two different new ones, the wrong current one, a short one, no terminal', async () => {
    const stdin = fakeTerminal();
    const run = tunnelctl(['passwd'], { env: user1, stdin });
    stdin.write('user1password\rone-password\rother-password\r');
    const differ = await run;
    expect(differ.code).toBe(1);
    expect(differ.stderr).toContain('error: The two passwords differ; nothing was changed');
    const wrong = await tunnelctl(['passwd', '--password-stdin'], {
      env: user1,
      stdin: 'nope\nlong-enough\n',
    });
    expect(wrong.stderr).toContain(
      'error: The current password is wrong (auth.wrong_password): give your current password first',
    );
    const short = await tunnelctl(['passwd', '--password-stdin'], {
      env: user1,
      stdin: 'user1password\nshort\n',
    });
    expect(short.stderr).toContain('(user.weak_password): choose a longer one');
    const one = await tunnelctl(['passwd', '--password-stdin'], { env: user1, stdin: 'user1password\n' });
    expect(one.stderr).toContain('--password-stdin takes two lines');
    const tty = await tunnelctl(['passwd'], { env: user1 });
    expect(tty.stderr).toContain('No terminal to ask the passwords on');
    expect(fake.users.get('user1')!.password).toBe('user1password');
  });
});

describe('whoami', () => {
  it('shows teams, and a token’s scopes and expiry', async () => {
    fake.addTeam('platform', ['user1']);
    await tunnelctl(['tokens', 'create', 'ro', '--scope', 'read', '--expires-in-days', '3'], { env: user1 });
    const secret = [...fake.tokens.values()][0]!.secret;
    const r = await tunnelctl(['whoami'], { env: tokenEnv(secret) });
    expect(r.stdout).toContain('Scopes:     read\n');
    expect(r.stdout).toMatch(/Expires:\s+20\d\d-/);
    expect(r.stdout).toContain('Teams:      platform\n');
    const basic = await tunnelctl(['whoami'], { env: user1 });
    expect(basic.stdout).not.toContain('Scopes:');
  });
});

describe('admin users', () => {
  it('list, show, -o name and json', async () => {
    const list = await tunnelctl(['admin', 'users', 'list'], { env: admin });
    expect(list.stdout).toMatch(/^NAME\s+ROLE\s+STATE\s+SIGN-IN\s+TUNNELS\s+ROUTES\s+AGE\n/);
    expect(list.stdout).toMatch(/admin\s+admin\s+enabled\s+password\s+0\/10\s+0\/50/);
    expect((await tunnelctl(['admin', 'users', 'list', '-o', 'name'], { env: admin })).stdout).toBe(
      'admin\nuser1\nuser2\n',
    );
    const show = await tunnelctl(['admin', 'users', 'show', 'user1'], { env: admin });
    expect(show.stdout).toContain('Name:       user1\n');
    expect(show.stdout).toContain('State:      enabled\n');
    const missing = await tunnelctl(['admin', 'users', 'show', 'nobody'], { env: admin });
    expect(missing.stderr).toBe(
      'error: No user named nobody (user.not_found): see the users with: tunnelctl admin users list\n',
    );
  });

  it('not an admin: auth.forbidden explained', async () => {
    const r = await tunnelctl(['admin', 'users', 'list'], { env: user1 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(auth.forbidden): this needs an admin account');
  });

  it('create with a password from stdin, or without one (single sign-on only)', async () => {
    const r = await tunnelctl(['admin', 'users', 'create', 'carol', '--password-stdin', '--role', 'admin'], {
      env: { ...admin },
      stdin: 'carol-secret\n',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('user carol created (admin)\n');
    expect(fake.users.get('carol')).toMatchObject({ password: 'carol-secret', role: 'admin' });
    const sso = await tunnelctl(['admin', 'users', 'create', 'dave', '-o', 'json'], { env: admin });
    expect(json(sso.stdout)).toMatchObject({ name: 'dave', signIn: [] });
    expect(sso.stderr).toContain('dave has no password: they sign in with single sign-on only');
    const again = await tunnelctl(['admin', 'users', 'create', 'dave'], { env: admin });
    expect(again.stderr).toContain('(user.name_taken): choose another name');
    const bad = await tunnelctl(['admin', 'users', 'create', 'no spaces'], { env: admin });
    expect(bad.stderr).toContain('(user.invalid_name)');
    const weak = await tunnelctl(['admin', 'users', 'create', 'erin', '--password-stdin'], {
      env: admin,
      stdin: 'short',
    });
    expect(weak.stderr).toContain('(user.weak_password)');
    const role = await tunnelctl(['admin', 'users', 'create', 'frank', '--role', 'root'], { env: admin });
    expect(role.code).toBe(2);
  });

  it('disable refuses every credential (auth.disabled); enable lets them back', async () => {
    const d = await tunnelctl(['admin', 'users', 'disable', 'user1'], { env: admin });
    expect(d.stdout).toBe('user user1 disabled\n');
    const refused = await tunnelctl(['list'], { env: user1 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Your account at');
    expect(refused.stderr).toContain('is disabled (auth.disabled): ask an administrator to enable it');
    await tunnelctl(['admin', 'users', 'enable', 'user1'], { env: admin });
    expect((await tunnelctl(['list'], { env: user1 })).code).toBe(0);
  });

  it('role, and the last admin cannot be demoted, disabled or removed', async () => {
    const r = await tunnelctl(['admin', 'users', 'role', 'user1', 'admin', '-o', 'json'], { env: admin });
    expect(json(r.stdout).role).toBe('admin');
    await tunnelctl(['admin', 'users', 'role', 'user1', 'user'], { env: admin });
    const last = await tunnelctl(['admin', 'users', 'disable', 'admin'], { env: admin });
    expect(last.stderr).toContain(
      '(user.last_admin): someone must be able to administer; make another user an admin first',
    );
    const bad = await tunnelctl(['admin', 'users', 'role', 'user1', 'root'], { env: admin });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('The role is admin or user, not "root"');
  });

  it('remove: refused while they own tunnels, then done', async () => {
    fake.seedTunnel('user2', { name: 'theirs' });
    const refused = await tunnelctl(['admin', 'users', 'remove', 'user2'], { env: admin });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      '(user.has_tunnels): see them with: tunnelctl admin tunnels --owner user2',
    );
    const owned = await tunnelctl(['admin', 'tunnels', '--owner', 'user2'], { env: admin });
    expect(owned.stdout).toMatch(/^NAME\s+OWNER\s+MODE/);
    expect(owned.stdout).toMatch(/theirs\s+user2/);
    await tunnelctl(['delete', 'theirs'], { env: admin });
    const r = await tunnelctl(['admin', 'users', 'remove', 'user2'], { env: admin });
    expect(r.stdout).toBe('user user2 removed\n');
    expect(fake.users.has('user2')).toBe(false);
  });

  it('passwd USER: from stdin, or typed twice on a terminal', async () => {
    const r = await tunnelctl(['admin', 'users', 'passwd', 'user2', '--password-stdin'], {
      env: admin,
      stdin: 'reset-password\n',
    });
    expect(r.stdout).toBe('password of user2 set; their browser sessions are signed out\n');
    expect(fake.users.get('user2')!.password).toBe('reset-password');
    const stdin = fakeTerminal();
    const run = tunnelctl(['admin', 'users', 'passwd', 'user2'], { env: admin, stdin });
    stdin.write('typed-password\rtyped-password\r');
    expect((await run).stderr).toContain('New password for user2 again: ');
    expect(fake.users.get('user2')!.password).toBe('typed-password');
  });

  it('quotas: shown, set, and back to the default', async () => {
    const show = await tunnelctl(['admin', 'users', 'quotas', 'user1'], { env: admin });
    expect(show.stdout).toMatch(/^QUOTA\s+USED\s+LIMIT\ntunnels\s+0\s+10\nroutes\s+0\s+50\n/);
    const set = await tunnelctl(['admin', 'users', 'quotas', 'user1', '--tunnels', '3', '--routes', '7'], {
      env: admin,
    });
    expect(set.stdout).toMatch(/tunnels\s+0\s+3\nroutes\s+0\s+7\n/);
    expect(fake.requests.at(-1)?.body).toEqual({ tunnels: 3, routes: 7 });
    await tunnelctl(['admin', 'users', 'quotas', 'user1', '--tunnels', 'default'], { env: admin });
    expect(fake.requests.at(-1)?.body).toEqual({ tunnels: null });
    expect(fake.users.get('user1')!.quotaTunnels).toBeNull();
    const bad = await tunnelctl(['admin', 'users', 'quotas', 'user1', '--tunnels', 'lots'], { env: admin });
    expect(bad.code).toBe(2);
  });
});

describe('admin teams', () => {
  it('create, add members, show, list, quotas, remove a member, remove', async () => {
    const c = await tunnelctl(['admin', 'teams', 'create', 'platform', '--tunnels', '2'], { env: admin });
    expect(c.stdout).toBe('team platform created\n');
    expect(fake.requests.at(-1)?.body).toEqual({ name: 'platform', quotas: { tunnels: 2 } });
    await tunnelctl(['admin', 'teams', 'add-member', 'platform', 'user1'], { env: admin });
    const add = await tunnelctl(['admin', 'teams', 'add-member', 'platform', 'user2', '-o', 'json'], {
      env: admin,
    });
    expect(json(add.stdout).members.map((m: { name: string }) => m.name)).toEqual(['user1', 'user2']);
    const show = await tunnelctl(['admin', 'teams', 'show', 'platform'], { env: admin });
    expect(show.stdout).toContain('Tunnels:    0 of 2\n');
    expect(show.stdout).toMatch(/Members:\n {2}NAME\s+SOURCE\s+SINCE\n {2}user1\s+manual/);
    const list = await tunnelctl(['admin', 'teams', 'list'], { env: admin });
    expect(list.stdout).toMatch(/^NAME\s+MEMBERS\s+TUNNELS\s+ROUTES\s+AGE\nplatform\s+2\s+0\/2\s+0\/50/);
    const q = await tunnelctl(['admin', 'teams', 'quotas', 'platform', '--routes', '9'], { env: admin });
    expect(q.stdout).toMatch(/routes\s+0\s+9/);
    const rm = await tunnelctl(['admin', 'teams', 'remove-member', 'platform', 'user2'], { env: admin });
    expect(rm.stdout).toBe('user2 is no longer a member of team platform\n');
    const notMember = await tunnelctl(['admin', 'teams', 'remove-member', 'platform', 'user2'], {
      env: admin,
    });
    expect(notMember.stderr).toContain('user2 is not a member of team platform (user.not_found)');
    // A team tunnel keeps the team from being removed.
    await tunnelctl(['create', 'teamwork', '--team', 'platform'], { env: user1 });
    const busy = await tunnelctl(['admin', 'teams', 'remove', 'platform'], { env: admin });
    expect(busy.stderr).toContain(
      'Team platform still owns tunnels; delete them first (team.has_tunnels): see them with: tunnelctl admin tunnels --owner team:platform',
    );
    await tunnelctl(['delete', 'teamwork'], { env: user1 });
    const gone = await tunnelctl(['admin', 'teams', 'remove', 'platform'], { env: admin });
    expect(gone.stdout).toBe('team platform removed\n');
  });

  it('refusals: a taken name, an unknown team', async () => {
    await tunnelctl(['admin', 'teams', 'create', 'platform'], { env: admin });
    const taken = await tunnelctl(['admin', 'teams', 'create', 'platform'], { env: admin });
    expect(taken.stderr).toContain('(team.name_taken): choose another name');
    const unknown = await tunnelctl(['admin', 'teams', 'show', 'nope'], { env: admin });
    expect(unknown.stderr).toBe(
      'error: No team named nope (team.not_found): see the teams with: tunnelctl admin teams list\n',
    );
    const none = await tunnelctl(['admin', 'teams'], { env: admin });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'Missing subcommand: tunnelctl admin teams list|show|create|remove|add-member|remove-member|quotas',
    );
    const wrong = await tunnelctl(['admin', 'groups'], { env: admin });
    expect(wrong.stderr).toContain('Unknown command: admin groups (use users, teams, tunnels)');
  });
});
