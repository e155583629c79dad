/**
 * Who an ID token says someone is, in Tunnelplane's terms: the stable key (issuer + `sub`, never
 * the email alone), a user name for display and Basic-free sign-in, and the role and teams the
 * groups claim maps to. Pure: the table tests are claims.test.ts.
 */

export interface ClaimSettings {
  claims: { username: string; email: string; groups: string };
  /** Members of these groups are admins. Empty: the role is Tunnelplane's to set (admin API). */
  adminGroups: readonly string[];
  /** `<prefix><team>` groups name teams; empty: teams do not come from groups. */
  teamGroupPrefix: string;
}

export interface SsoIdentity {
  issuer: string;
  subject: string;
  /** A valid Tunnelplane user name (1–64 of `[A-Za-z0-9._@-]`), the preferred one. */
  username: string;
  email: string | null;
  groups: string[];
  /** null: leave the role as it is (no admin groups configured). */
  role: 'user' | 'admin' | null;
  /** Team names, or null when teams do not come from groups. */
  teams: string[] | null;
}

const NAME_CHARS = /[^A-Za-z0-9._@-]+/g;
const VALID = /^[A-Za-z0-9._@-]{1,64}$/;

const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);

/** A claim value as a list of strings (a string alone is a list of one; anything else: none). */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.length > 0);
  return [];
}

/** A user name from a claim: unusable characters become "-", at most 64; null when nothing is left. */
export function userNameFrom(value: string): string | null {
  const name = value
    .replace(NAME_CHARS, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return VALID.test(name) ? name : null;
}

export function identityFromClaims(claims: Record<string, unknown>, s: ClaimSettings): SsoIdentity {
  const issuer = text(claims.iss);
  const subject = text(claims.sub);
  if (!issuer || !subject) throw new Error('the ID token has no iss or sub');
  const email = text(claims[s.claims.email]);
  const preferred = text(claims[s.claims.username]);
  const username =
    (preferred && userNameFrom(preferred)) ??
    (email && userNameFrom(email.split('@')[0]!)) ??
    userNameFrom(`sso-${subject}`) ??
    'sso-user';
  const groups = strings(claims[s.claims.groups]);
  const role = s.adminGroups.length
    ? groups.some((g) => s.adminGroups.includes(g))
      ? 'admin'
      : 'user'
    : null;
  const teams = s.teamGroupPrefix
    ? [
        ...new Set(
          groups
            .filter((g) => g.startsWith(s.teamGroupPrefix))
            .map((g) => g.slice(s.teamGroupPrefix.length))
            .filter((t) => VALID.test(t)),
        ),
      ]
    : null;
  return { issuer, subject, username, email, groups, role, teams };
}
