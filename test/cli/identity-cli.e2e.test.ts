/**
 * The identity verbs against the REAL server (test/support/stack.ts: the runtime with the
 * Cloudflare emulator and a temporary database), tunnelctl in-process through runTunnelctl:
 * an admin makes a team and a user and puts the user in it; the user creates a tunnel in the
 * team, makes a read-only token that is refused a change with a clear message, changes their
 * password, and reads the audit trail. (`login --sso` with a real identity provider is
 * test/identity.e2e.test.ts's; here only the refusal of a server without one.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';
import { baseEnv, tunnelctl, userEnv } from './harness.js';

let stack: Stack;
let admin: Record<string, string | undefined>;

beforeAll(async () => {
  stack = await startStack();
  admin = userEnv(stack.url, 'admin');
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const carol = (password = 'carol-password-1') =>
  baseEnv({ CONTROL_PLANE: stack.url, USERPASS: `carol:${password}` });
const ok = (r: { code: number; stderr: string }) => {
  expect(r.stderr, r.stderr).not.toContain('error:');
  expect(r.code).toBe(0);
};

describe('identity through tunnelctl and the real server', () => {
  it('admin makes a team and a user; the user works in the team; a read token cannot change; passwd; events', async () => {
    ok(await tunnelctl(['admin', 'teams', 'create', 'platform'], { env: admin }));
    const created = await tunnelctl(['admin', 'users', 'create', 'carol', '--password-stdin', '-o', 'json'], {
      env: admin,
      stdin: 'carol-password-1\n',
    });
    ok(created);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'carol', role: 'user', signIn: ['password'] });
    const member = await tunnelctl(['admin', 'teams', 'add-member', 'platform', 'carol'], { env: admin });
    ok(member);
    expect(member.stdout).toBe('carol is a member of team platform\n');

    // The user: their team, a tunnel the team owns.
    expect((await tunnelctl(['teams', '-o', 'name'], { env: carol() })).stdout).toBe('platform\n');
    const tunnel = await tunnelctl(['create', 'teamwork', '--team', 'platform', '-o', 'json'], {
      env: carol(),
    });
    ok(tunnel);
    expect(JSON.parse(tunnel.stdout)).toMatchObject({
      name: 'teamwork',
      owner: 'team:platform',
      phase: 'ready',
    });
    expect((await tunnelctl(['list', '--team', 'platform', '-o', 'name'], { env: carol() })).stdout).toBe(
      'teamwork\n',
    );
    const table = await tunnelctl(['tunnel', 'list'], { env: carol() });
    expect(table.stdout).toMatch(/teamwork\s+team:platform\s+local\s+ready/);
    const show = await tunnelctl(['admin', 'teams', 'show', 'platform', '-o', 'json'], { env: admin });
    expect(JSON.parse(show.stdout)).toMatchObject({
      name: 'platform',
      usage: { tunnels: 1 },
      members: [{ name: 'carol', source: 'manual' }],
    });
    const notMine = await tunnelctl(['create', '--team', 'finance'], { env: carol() });
    expect(notMine.code).toBe(1);
    expect(notMine.stderr).toBe(
      'error: You are not in a team named "finance" (team.not_found); your teams: platform\n',
    );

    // A read-only token: reads, and is refused a change with a clear message.
    const token = await tunnelctl(['tokens', 'create', 'readonly', '--scope', 'read'], { env: carol() });
    ok(token);
    const secret = token.stdout.trim();
    expect(secret).toMatch(/^tp_/);
    expect(token.stderr).toContain('created with scope read');
    const ro = baseEnv({ CONTROL_PLANE: stack.url, TUNNELCTL_TOKEN: secret });
    ok(await tunnelctl(['list'], { env: ro }));
    const who = await tunnelctl(['whoami'], { env: ro });
    expect(who.stdout).toContain('Scopes:     read\n');
    const refused = await tunnelctl(['create'], { env: ro });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toBe(
      'error: The token in TUNNELCTL_TOKEN lacks the "write" scope (auth.scope): use a token that has it (tunnelctl tokens create NAME --scope write, made with your password), or your password (USERPASS)\n',
    );
    const broader = await tunnelctl(['tokens', 'create', 'more', '--scope', 'write'], { env: ro });
    expect(broader.code).toBe(1);
    expect(broader.stderr).toContain('(auth.scope)');
    const tokens = JSON.parse((await tunnelctl(['tokens', 'list', '-o', 'json'], { env: carol() })).stdout);
    expect(tokens).toEqual([expect.objectContaining({ name: 'readonly', scopes: ['read'] })]);

    // passwd: the old password stops working, the new one works.
    const changed = await tunnelctl(['passwd', '--password-stdin'], {
      env: carol(),
      stdin: 'carol-password-1\ncarol-password-2\n',
    });
    ok(changed);
    expect(changed.stderr).toContain('Password changed');
    const old = await tunnelctl(['whoami'], { env: carol() });
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('(auth.invalid): check USERPASS');
    ok(await tunnelctl(['whoami'], { env: carol('carol-password-2') }));
    const wrong = await tunnelctl(['passwd', '--password-stdin'], {
      env: carol('carol-password-2'),
      stdin: 'not-it\ncarol-password-3\n',
    });
    expect(wrong.stderr).toContain('(auth.wrong_password)');

    // The audit trail: theirs and their team's, newest first; an admin's shows the admin's work.
    const events = await tunnelctl(['events', '-o', 'json'], { env: carol('carol-password-2') });
    ok(events);
    const actions = (JSON.parse(events.stdout).items as Array<{ action: string; actor: string }>).map(
      (e) => e.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['user.password', 'token.create', 'tunnel.create']));
    const table2 = await tunnelctl(['events', '--limit', '5'], { env: carol('carol-password-2') });
    expect(table2.stdout).toMatch(/^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\n/);
    expect(table2.stdout).toMatch(/carol\s+user\.password\s+carol\s+ok/);
    const adminEvents = await tunnelctl(['events', '--limit', '500', '-o', 'json'], { env: admin });
    const adminActions = (JSON.parse(adminEvents.stdout).items as Array<{ action: string }>).map(
      (e) => e.action,
    );
    expect(adminActions).toEqual(expect.arrayContaining(['team.create', 'user.create', 'team.member_add']));

    // Disabled: refused with its own message; the team's tunnel stays.
    ok(await tunnelctl(['admin', 'users', 'disable', 'carol'], { env: admin }));
    const disabled = await tunnelctl(['list'], { env: carol('carol-password-2') });
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toContain('is disabled (auth.disabled): ask an administrator to enable it');
    const owned = await tunnelctl(['admin', 'tunnels', '--owner', 'team:platform', '-o', 'name'], {
      env: admin,
    });
    expect(owned.stdout).toBe('teamwork\n');
    ok(await tunnelctl(['admin', 'users', 'enable', 'carol'], { env: admin }));

    // Clean up through the CLI: the team keeps its tunnel from being removed until it is gone.
    const busy = await tunnelctl(['admin', 'teams', 'remove', 'platform'], { env: admin });
    expect(busy.stderr).toContain('(team.has_tunnels)');
    ok(await tunnelctl(['delete', 'teamwork'], { env: carol('carol-password-2') }));
    ok(await tunnelctl(['admin', 'teams', 'remove', 'platform'], { env: admin }));
    ok(await tunnelctl(['admin', 'users', 'remove', 'carol'], { env: admin }));
  }, 120_000);

  it('login --sso on a server without single sign-on says so, exit 1', async () => {
    const r = await tunnelctl(['login', '--sso', '--server', stack.url], { env: baseEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(sso.not_configured): sign in with a password (tunnelctl login)');
  });
});
