// Cloudflare Access account limits (developers.cloudflare.com/cloudflare-one/account-limits/,
// "Access" table). The documented values are the defaults; an emulator instance can take
// smaller ones (option `accessLimits`, control `setAccessLimits`) so tests reach them cheaply.

/** Per-account Access limits the emulator enforces. */
export interface AccessLimits {
  /** Applications per account (documented: 500). */
  applications: number;
  /** Service tokens per account (documented: 50). */
  serviceTokens: number;
  /** Reusable policies per account (documented: 500). */
  reusablePolicies: number;
  /** Rules (include + require + exclude entries) over all policies of one application (documented: 1,000). */
  rulesPerApplication: number;
  /** `ip` rules in one include, require or exclude list (documented: 1,000 IP addresses per rule). */
  ipsPerRule: number;
  /** `email` rules in one include, require or exclude list (documented: 1,000 email addresses per rule). */
  emailsPerRule: number;
}

export const defaultAccessLimits: Readonly<AccessLimits> = Object.freeze({
  applications: 500,
  serviceTokens: 50,
  reusablePolicies: 500,
  rulesPerApplication: 1000,
  ipsPerRule: 1000,
  emailsPerRule: 1000,
});

/** The live limits of one emulator; handlers read `limits` at call time. */
export interface AccessLimitSettings {
  limits: AccessLimits;
}

const KEYS = Object.keys(defaultAccessLimits) as Array<keyof AccessLimits>;

/**
 * `changes` applied over `base`, every value an integer >= 0. Throws listing every problem
 * (unknown keys included), so a typo fails where it is made.
 */
export function mergeAccessLimits(base: AccessLimits, changes: Partial<AccessLimits>): AccessLimits {
  const problems: string[] = [];
  const merged = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (!KEYS.includes(key as keyof AccessLimits)) {
      problems.push(`unknown Access limit "${key}" (known: ${KEYS.join(', ')})`);
    } else if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      problems.push(`Access limit ${key} must be an integer >= 0`);
    } else {
      merged[key as keyof AccessLimits] = value;
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return merged;
}
