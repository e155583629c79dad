// The people who can sign in at the local provider, and the claims it tells relying parties
// about them. The demo accounts are fixed so docs, `tunnelplane dev` and tests can name them.
import type { Account } from 'oidc-provider';

/** A user of the local provider; `username` is also the subject (`sub`). */
export interface LocalAccount {
  username: string;
  password: string;
  email: string;
  name: string;
  groups: string[];
}

/** Demo users, one per kind of access: an admin, a platform member, a data member. */
export const demoAccounts: LocalAccount[] = [
  {
    username: 'ada',
    password: 'ada-password',
    email: 'ada@example.test',
    name: 'Ada Lovelace',
    groups: ['tunnelplane-admins', 'team-platform'],
  },
  {
    username: 'bob',
    password: 'bob-password',
    email: 'bob@example.test',
    name: 'Bob Builder',
    groups: ['team-platform'],
  },
  {
    username: 'cy',
    password: 'cy-password',
    email: 'cy@example.test',
    name: 'Cy Young',
    groups: ['team-data'],
  },
];

/** Which claims each scope releases; `openid` gives `sub` alone. */
export const scopeClaims = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username'],
  groups: ['groups'],
} as const;

/** Checks a username and password; undefined when either is wrong. */
export function authenticate(
  accounts: readonly LocalAccount[],
  username: string,
  password: string,
): LocalAccount | undefined {
  const account = accounts.find((a) => a.username === username);
  return account && account.password === password ? account : undefined;
}

/** oidc-provider's view of an account: every claim; the provider keeps those the scopes grant. */
export function toProviderAccount(account: LocalAccount): Account {
  return {
    accountId: account.username,
    claims: () => ({
      sub: account.username,
      email: account.email,
      email_verified: true,
      name: account.name,
      preferred_username: account.username,
      groups: [...account.groups],
    }),
  };
}
