// The sign-in step oidc-provider hands over to us: `/interaction/:uid` shows the login form,
// `/interaction/:uid/login` checks the password and returns the person to the provider,
// `/interaction/:uid/abort` cancels (the client gets access_denied). Consent never comes here:
// `loadExistingGrant` grants every registered client what it asks for.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails, InteractionResult } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { authenticate, type LocalAccount } from './accounts.js';
import { loginPage, messagePage } from './pages.js';

const MAX_FORM_BYTES = 16 * 1024;

type Reply = (status: number, html: string) => void;

function replier(res: ServerResponse): Reply {
  return (status, html) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    });
    res.end(html);
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function clientIdOf(details: InteractionDetails): string {
  return typeof details.params.client_id === 'string' ? details.params.client_id : 'the application';
}

/** Handles a request under `/interaction/`; errors of the library's own (no interaction cookie…) become pages. */
export function createInteractionHandler(
  provider: Provider,
  accounts: readonly LocalAccount[],
  onError: (err: unknown) => void,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  async function finish(req: IncomingMessage, res: ServerResponse, result: InteractionResult) {
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  return async function handle(req, res) {
    const reply = replier(res);
    const match = /^\/interaction\/([^/?]+)(\/login|\/abort)?(?:\?.*)?$/.exec(req.url ?? '');
    if (!match?.[1]) return reply(404, messagePage('Not found', 'There is no such page.'));
    const uid = decodeURIComponent(match[1]);
    const action = match[2] ?? '';
    const method = action === '/login' ? 'POST' : 'GET';
    if (req.method !== method) {
      res.setHeader('allow', method);
      return reply(405, messagePage('Method not allowed', `Use ${method} here.`));
    }

    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      // No or expired interaction cookie: the person must start again from the application.
      return reply(
        400,
        messagePage(
          'Sign-in expired',
          'This sign-in request has expired or was opened elsewhere. Start again from the application.',
        ),
      );
    }
    if (details.uid !== uid) {
      return reply(
        400,
        messagePage(
          'Sign-in expired',
          'This page belongs to an older sign-in request. Start again from the application.',
        ),
      );
    }

    try {
      if (action === '/abort') {
        return await finish(req, res, {
          error: 'access_denied',
          error_description: 'End-User aborted interaction',
        });
      }
      if (details.prompt.name !== 'login') {
        // Only reachable if a client asked for something loadExistingGrant does not grant.
        return reply(
          400,
          messagePage(
            'Cannot continue',
            `The provider asked for "${details.prompt.name}", which this local provider does not offer.`,
          ),
        );
      }
      const clientId = clientIdOf(details);
      if (action === '') {
        const hint = details.params.login_hint;
        return reply(200, loginPage({ uid, clientId, username: typeof hint === 'string' ? hint : '' }));
      }
      const form = await readForm(req);
      if (!form)
        return reply(
          400,
          messagePage('Bad request', 'Send the sign-in form as application/x-www-form-urlencoded.'),
        );
      const username = form.get('username') ?? '';
      const account = authenticate(accounts, username, form.get('password') ?? '');
      if (!account) {
        return reply(200, loginPage({ uid, clientId, username, error: 'Wrong username or password.' }));
      }
      return await finish(req, res, { login: { accountId: account.username } });
    } catch (err) {
      onError(err);
      if (!res.headersSent)
        reply(500, messagePage('Something went wrong', 'The sign-in could not be completed.'));
      else res.end();
    }
  };
}
