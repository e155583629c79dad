/**
 * What a credential may do. A password (Basic or a browser session) carries all of its user's
 * rights; an API token carries the scopes it was made with: `read` (every GET), `write`
 * (changes), `admin` (the admin paths, and only for an admin). A token never makes a token with
 * more rights than itself: neither a scope it lacks nor a later expiry.
 */
import { AppError } from './errors.js';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Every right a user holds: what a password grants. */
export function rightsOf(role: 'user' | 'admin'): Scope[] {
  return role === 'admin' ? ['read', 'write', 'admin'] : ['read', 'write'];
}

/** A token row's scopes as stored (space-separated), limited to what its owner holds now. */
export function parseScopes(stored: string, role: 'user' | 'admin'): Scope[] {
  const listed = stored.split(' ');
  return SCOPES.filter((s) => listed.includes(s) && (s !== 'admin' || role === 'admin'));
}

export const formatScopes = (scopes: readonly Scope[]) => SCOPES.filter((s) => scopes.includes(s)).join(' ');

/** The scope a request needs: admin paths `admin`, changes `write`, reads `read`. */
const NEEDED: Record<'read' | 'write' | 'adminRead' | 'adminWrite', readonly Scope[]> = {
  read: ['read'],
  write: ['write'],
  adminRead: ['admin', 'read'],
  adminWrite: ['admin', 'write'],
};

export function neededScope(method: string, adminPath: boolean): readonly Scope[] {
  const reads = method === 'GET' || method === 'HEAD';
  if (adminPath) return reads ? NEEDED.adminRead : NEEDED.adminWrite;
  return reads ? NEEDED.read : NEEDED.write;
}

/** Refuses with 403 `auth.scope` what the credential's scopes do not cover. */
export function assertScopes(have: readonly Scope[], needed: readonly Scope[]) {
  if (needed.every((s) => have.includes(s))) return;
  const missing = needed.filter((s) => !have.includes(s));
  if (missing.length)
    throw new AppError(
      'auth.scope',
      `This API token lacks the ${missing.map((s) => `"${s}"`).join(' and ')} scope${missing.length > 1 ? 's' : ''}; use a token that has it, or your password.`,
      { missing },
    );
}

/**
 * The scopes and expiry of a token asked for by a credential holding `parent`: by default the
 * parent's own scopes and expiry; never more scopes, never a later expiry (403 `token.exceeds`).
 */
export function grantToken(
  parent: { scopes: readonly Scope[]; expiresAt: string | null },
  asked: { scopes?: readonly string[]; expiresAt: string | null },
): { scopes: Scope[]; expiresAt: string | null } {
  const unknown = (asked.scopes ?? []).filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length)
    throw new AppError(
      'token.bad_scope',
      `Unknown scope ${JSON.stringify(unknown[0])}: use read, write or admin.`,
      {
        scope: unknown[0],
      },
    );
  const scopes = asked.scopes ? SCOPES.filter((s) => asked.scopes!.includes(s)) : [...parent.scopes];
  if (!scopes.length)
    throw new AppError('token.bad_scope', 'A token needs at least one scope (read, write or admin).');
  const beyond = scopes.filter((s) => !parent.scopes.includes(s));
  if (beyond.length)
    throw new AppError(
      'token.exceeds',
      `You cannot give a token the ${beyond.map((s) => `"${s}"`).join(' and ')} scope: the credential you use does not hold it.`,
      { scopes: beyond },
    );
  let expiresAt = asked.expiresAt;
  if (parent.expiresAt) {
    if (expiresAt && expiresAt > parent.expiresAt)
      throw new AppError(
        'token.exceeds',
        `A token made with an expiring token cannot outlive it (it expires at ${parent.expiresAt}).`,
        { expiresAt: parent.expiresAt },
      );
    expiresAt ??= parent.expiresAt;
  }
  return { scopes, expiresAt };
}
