/**
 * Signing in as a person: single sign-on (the browser's authorization code flow, the CLI's
 * device flow) and browser sessions. A sign-in in progress is kept sealed in the database (any
 * replica finishes it; a used one is gone, so a replayed state or device handle finds nothing).
 * The identity provider vouches for a person by issuer and subject: the first sign-in creates
 * their account (a free variant of their preferred name; never linked by email or name to an
 * account that exists), later ones bring email, role and teams in line with the ID token. A
 * person disabled at Tunnelplane is refused whatever the provider says.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.js';
import { hashApiToken } from '../domain/passwords.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { SsoIdentity } from '../identity/claims.js';
import type { OidcClient } from '../identity/oidc-client.js';
import {
  NO_PASSWORD,
  type EventsRepository,
  type SessionsRepository,
  type TeamsRepository,
  type UserRow,
  type UsersRepository,
} from '../store/index.js';

export interface SsoServiceDeps {
  oidc: OidcClient | null;
  users: Pick<UsersRepository, 'byOidc' | 'byName' | 'byId' | 'create' | 'update'>;
  teams: Pick<TeamsRepository, 'ensure' | 'syncSso'>;
  sessions: SessionsRepository;
  events: Pick<EventsRepository, 'append'>;
  secrets: SecretBox;
  sessionHours: number;
}

const FLOW_MINUTES = 10;
const newSecret = () => randomBytes(32).toString('base64url');
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/** Where to go after signing in: a path of this server only (never `//host` or a URL). */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 500
    ? value
    : '/';
}

export function createSsoService(deps: SsoServiceDeps) {
  const { users, teams, sessions, events, secrets } = deps;

  function client(): OidcClient {
    if (!deps.oidc)
      throw new AppError(
        'sso.not_configured',
        'Single sign-on is not configured on this server (identity.oidc).',
      );
    return deps.oidc;
  }

  const seal = (data: object) => secrets.seal(Buffer.from(JSON.stringify(data)));
  const open = <T>(sealed: string) => JSON.parse(secrets.open(sealed).toString('utf8')) as T;

  /** A free user name: the preferred one, else with -2, -3… */
  async function freeName(preferred: string): Promise<string> {
    for (let i = 1; i < 100; i++) {
      const suffix = i === 1 ? '' : `-${i}`;
      const name = preferred.slice(0, 64 - suffix.length) + suffix;
      if (!(await users.byName(name))) return name;
    }
    return `sso-${randomBytes(6).toString('hex')}`;
  }

  /** The account the identity is: made at the first sign-in, kept in line with the claims after. */
  async function provision(id: SsoIdentity): Promise<UserRow> {
    let user = await users.byOidc(id.issuer, id.subject);
    if (!user) {
      for (let attempt = 0; !user && attempt < 3; attempt++) {
        try {
          user = await users.create({
            name: await freeName(id.username),
            passwordHash: NO_PASSWORD,
            role: id.role ?? 'user',
            email: id.email,
            oidcIssuer: id.issuer,
            oidcSubject: id.subject,
          });
        } catch (err) {
          // Two first sign-ins at once: the other made the account, or took the name.
          user = await users.byOidc(id.issuer, id.subject);
          if (!user && !(err instanceof AppError && err.code === 'user.name_taken')) throw err;
        }
      }
      if (!user)
        throw new AppError('sso.failed', 'Could not create your account; try again.', { reason: 'name' });
      await events.append({
        ownerId: user.id,
        actor: user.name,
        action: 'user.create',
        target: user.name,
        outcome: 'ok',
        details: { via: 'sso', issuer: id.issuer },
      });
    }
    if (user.disabled)
      throw new AppError('auth.disabled', 'This account is disabled; ask an administrator to enable it.');
    const patch = {
      ...(id.email !== user.email ? { email: id.email } : {}),
      ...(id.role && id.role !== user.role ? { role: id.role } : {}),
    };
    if (Object.keys(patch).length) await users.update(user.id, patch);
    if (id.teams) {
      const ids = [];
      for (const name of id.teams) ids.push((await teams.ensure(name)).id);
      const changed = await teams.syncSso(user.id, ids);
      if (changed.joined.length || changed.left.length)
        await events.append({
          ownerId: user.id,
          actor: user.name,
          action: 'user.teams',
          target: user.name,
          outcome: 'ok',
          details: { via: 'sso', joined: changed.joined.length, left: changed.left.length },
        });
    }
    return (await users.byId(user.id))!;
  }

  return {
    configured: () => deps.oidc !== null,
    provision,

    /** A new browser session: the cookie's secret (shown once) and its CSRF token. */
    async createSession(user: UserRow) {
      const secret = newSecret();
      const csrf = newSecret();
      const expiresAt = inMs(deps.sessionHours * 3_600_000);
      await sessions.create({
        id_hash: hashApiToken(secret),
        user_id: user.id,
        csrf,
        created_at: new Date().toISOString(),
        expires_at: expiresAt,
      });
      return { secret, csrf, expiresAt };
    },

    endSession: (sessionHash: string) => sessions.remove(sessionHash),

    /** Expired sessions and abandoned sign-ins go (every few minutes, from each replica). */
    sweep: () => sessions.sweep(),

    /** Starts a browser sign-in: where to send the browser, and the state its cookie binds. */
    async startBrowser(returnTo: string) {
      const start = await client().startCode();
      await sessions.saveFlow({
        idHash: hashApiToken(start.state),
        kind: 'code',
        dataSealed: seal({ nonce: start.nonce, verifier: start.verifier, returnTo: safeReturnTo(returnTo) }),
        expiresAt: inMs(FLOW_MINUTES * 60_000),
      });
      return { url: start.url, state: start.state };
    },

    /**
     * The provider's redirect back: the state must be the one this browser started (its cookie)
     * and not used yet; then the code is exchanged and the ID token checked.
     */
    async finishBrowser(callbackUrl: URL, browserState: string | undefined) {
      const oidc = client();
      const state = callbackUrl.searchParams.get('state');
      const error = callbackUrl.searchParams.get('error');
      if (!state || !browserState || state !== browserState)
        throw new AppError(
          'sso.failed',
          'Single sign-on failed: this sign-in was not started by this browser. Sign in again.',
          {
            reason: 'state_mismatch',
          },
        );
      const sealed = await sessions.takeFlow(hashApiToken(state), 'code');
      if (!sealed)
        throw new AppError(
          'sso.failed',
          'Single sign-on failed: this sign-in is unknown, expired or used already. Sign in again.',
          {
            reason: 'unknown_state',
          },
        );
      if (error)
        throw new AppError(
          'sso.failed',
          `Single sign-on failed: the provider answered ${error.slice(0, 64)}. Sign in again.`,
          { reason: error.slice(0, 64) },
        );
      const flow = open<{ nonce: string; verifier: string; returnTo: string }>(sealed);
      const user = await provision(await oidc.finishCode(callbackUrl, { state, ...flow }));
      return { user, returnTo: flow.returnTo };
    },

    /** Starts a device sign-in: the user code and URL to show, and a handle (a secret) to poll with. */
    async startDevice() {
      const d = await client().startDevice();
      const handle = newSecret();
      await sessions.saveFlow({
        idHash: hashApiToken(handle),
        kind: 'device',
        dataSealed: seal({ deviceCode: d.deviceCode, interval: d.interval }),
        expiresAt: inMs(d.expiresIn * 1000),
      });
      return { handle, ...d };
    },

    /** One poll of a device sign-in: pending (poll again after `interval` s), or the person. */
    async pollDevice(
      handle: string,
    ): Promise<{ status: 'pending'; interval: number } | { status: 'done'; user: UserRow }> {
      const idHash = hashApiToken(handle);
      const sealed = await sessions.peekFlow(idHash, 'device');
      if (!sealed)
        throw new AppError(
          'sso.expired',
          'This device sign-in is unknown, expired or finished; start again.',
        );
      const flow = open<{ deviceCode: string; interval: number }>(sealed);
      const r = await client().pollDevice(flow.deviceCode, flow.interval);
      if (r.status === 'pending') {
        // Told to slow down: every later poll is told the longer interval too.
        if (r.interval !== flow.interval)
          await sessions.updateFlow(idHash, seal({ ...flow, interval: r.interval }));
        return r;
      }
      // Done or over: the flow is used up (only one poll may take it).
      if (!(await sessions.takeFlow(idHash, 'device')))
        throw new AppError(
          'sso.expired',
          'This device sign-in is unknown, expired or finished; start again.',
        );
      if (r.status === 'over')
        throw new AppError('sso.expired', `The device sign-in ended (${r.reason}); start again.`, {
          reason: r.reason,
        });
      return { status: 'done', user: await provision(r.identity) };
    },
  };
}

export type SsoService = ReturnType<typeof createSsoService>;
