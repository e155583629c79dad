/**
 * The caller's own account: `passwd`, `tokens list|create|revoke`, `events` and `teams`.
 */
import { SCOPES, isApiError, type Scope, type Token } from '../client/index.js';
import type { Ctx } from './context.js';
import { CliError, UsageError } from './errors.js';
import { eventsTable, renderTable, tokensTable } from './output.js';
import { isInteractive, promptLine, promptNewPassword, readAllStdin } from './prompt.js';

/** `--expires-in-days`: a whole number of days, at least 1; undefined when not given. */
export function expiresInDays(ctx: Ctx, command: string[]): number | undefined {
  const days = ctx.flag('expires-in-days');
  if (days === undefined) return undefined;
  const n = Number(days);
  if (!/^\d+$/.test(days) || n < 1 || n > 3650)
    throw new UsageError('--expires-in-days must be a whole number of days from 1 to 3650', command);
  return n;
}

/** `passwd`: the current password and the new one, from the terminal or two lines of stdin. */
export async function passwd(ctx: Ctx): Promise<number> {
  const { client, target } = await ctx.session();
  const { stdin, stderr } = ctx.io;
  let currentPassword: string;
  let newPassword: string;
  if (ctx.has('password-stdin')) {
    const [current, next, ...rest] = (await readAllStdin(stdin)).split(/\r?\n/);
    if (!current || !next || rest.some((l) => l !== ''))
      throw new CliError(
        '--password-stdin takes two lines: the current password, then the new one; nothing was changed',
      );
    [currentPassword, newPassword] = [current, next];
  } else if (isInteractive(stdin)) {
    currentPassword = await promptLine(stdin, stderr, 'Current password: ', true);
    newPassword = await promptNewPassword(stdin, stderr);
  } else {
    throw new CliError(
      'No terminal to ask the passwords on: pass --password-stdin and pipe two lines in, the current password then the new one',
    );
  }
  const res = await client.account.changePassword({ currentPassword, newPassword });
  if (ctx.format === 'table') ctx.note('Password changed; your browser sessions are signed out.');
  else ctx.data(res);
  if (res.tokensRevoked > 0)
    ctx.note(
      `The server revoked your ${res.tokensRevoked} API token${res.tokensRevoked > 1 ? 's' : ''} with it: run tunnelctl login again.`,
    );
  if (target.authFrom === 'USERPASS') ctx.note('USERPASS still holds the old password: update it.');
  return 0;
}

export async function listTokens(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const tokens = await client.tokens.list();
  if (ctx.format !== 'table') ctx.data(tokens);
  else if (tokens.length === 0) ctx.note('No API tokens; create one with: tunnelctl tokens create NAME');
  else ctx.out(tokensTable(tokens));
  return 0;
}

/** `--scope`, repeated or comma-separated; none: the server gives the credential's own. */
function scopes(ctx: Ctx): Scope[] | undefined {
  const given = ctx.list('scope').filter(Boolean);
  if (given.length === 0) return undefined;
  for (const s of given) {
    if (!(SCOPES as readonly string[]).includes(s))
      throw new UsageError(`--scope must be read, write or admin, not ${JSON.stringify(s)}`, [
        'tokens',
        'create',
      ]);
  }
  return [...new Set(given)] as Scope[];
}

/** `tokens create NAME`: the secret alone on stdout (`> token.txt`), what it may do on stderr. */
export async function createToken(ctx: Ctx, name: string): Promise<number> {
  const { client } = await ctx.session();
  const wanted = scopes(ctx);
  const days = expiresInDays(ctx, ['tokens', 'create']);
  const created = await client.tokens.create({
    name,
    ...(wanted && { scopes: wanted }),
    ...(days !== undefined && { expiresInDays: days }),
  });
  if (ctx.format !== 'table') {
    ctx.data(created);
    return 0;
  }
  const t = created.token;
  ctx.out(`${created.secret}\n`);
  ctx.note(
    `Token ${t.name} (${t.id}) created with scope${(t.scopes?.length ?? 0) === 1 ? '' : 's'} ${t.scopes?.join(', ') ?? 'of your credential'}, ${t.expiresAt ? `expiring ${t.expiresAt}` : 'never expiring'}.`,
  );
  ctx.note('Its secret (above) is shown only this once: use it as TUNNELCTL_TOKEN or --token.');
  return 0;
}

/** `tokens revoke ID|NAME`: by id; else by name, when exactly one token has it. */
export async function revokeToken(ctx: Ctx, ref: string): Promise<number> {
  const { client, target } = await ctx.session();
  let token: Pick<Token, 'id' | 'name'> = { id: ref, name: ref };
  try {
    await client.tokens.delete(ref);
  } catch (err) {
    if (!isApiError(err, 'token.not_found')) throw err;
    const all = await client.tokens.list();
    const named = all.filter((t) => t.name === ref);
    if (named.length > 1)
      throw new CliError(
        `${named.length} of your tokens are named ${ref}: revoke one by id (${named.map((t) => t.id).join(', ')})`,
      );
    if (named.length === 0) {
      const yours = all.map((t) => `${t.name} (${t.id})`).join(', ');
      throw new CliError(`You have no API token ${ref}${yours ? `; your tokens: ${yours}` : ''}`);
    }
    token = named[0] as Token;
    await client.tokens.delete(token.id);
  }
  if (ctx.format === 'table')
    ctx.note(`Token ${token.id === ref ? ref : `${token.name} (${token.id})`} revoked.`);
  else ctx.data({ id: token.id, revoked: true });
  const saved = await ctx.config();
  if (target.authFrom === 'config' && saved.tokenId === token.id)
    ctx.note('That was the token tunnelctl login saved: run tunnelctl login again.');
  return 0;
}

export async function events(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const raw = ctx.flag('limit');
  let limit: number | undefined;
  if (raw !== undefined) {
    limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 500)
      throw new UsageError('--limit must be a whole number from 1 to 500', ['events']);
  }
  const page = await client.events.list({ limit, cursor: ctx.flag('cursor') ?? null });
  if (ctx.format !== 'table') {
    ctx.data(page);
    return 0;
  }
  if (page.items.length === 0) ctx.note('No events.');
  else ctx.out(eventsTable(page.items));
  if (page.nextCursor)
    ctx.note(
      `Older events: tunnelctl events --cursor ${page.nextCursor}${limit !== undefined ? ` --limit ${limit}` : ''}`,
    );
  return 0;
}

/** `teams`: the teams you are in. */
export async function myTeams(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const teams = await client.account.teams();
  if (ctx.format === 'name') ctx.out(teams.map((t) => `${t.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(teams);
  else if (teams.length === 0)
    ctx.note('You are in no team; an admin adds you (tunnelctl admin teams add-member).');
  else
    ctx.out(
      renderTable(
        ['NAME'],
        teams.map((t) => [t.name]),
      ),
    );
  return 0;
}
