// The HTML the local provider shows a person: sign-in, device code entry and confirmation,
// sign-out, errors. Plain forms, no script and no outside assets (it runs with no network),
// so a test browser that only follows redirects and posts forms can go through every page.
import type { ErrorOut, ProviderContext } from 'oidc-provider';

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}' +
  'label,input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0}' +
  'input{padding:.4rem}button{padding:.5rem}.error{color:#b00020}.note{color:#555;font-size:.9em}';

/** A whole page; `body` is trusted HTML, `title` is text. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
<p class="note">Tunnelplane local identity provider, for development and tests only.</p>
</body>
</html>
`;
}

export interface LoginPageInput {
  uid: string;
  clientId: string;
  username?: string;
  error?: string;
}

/** The sign-in form of interaction `uid`, posting to `/interaction/<uid>/login`. */
export function loginPage({ uid, clientId, username = '', error }: LoginPageInput): string {
  const id = encodeURIComponent(uid);
  return page(
    'Sign in',
    `<p>to continue to <strong>${escapeHtml(clientId)}</strong></p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${id}/login">
<label for="username">Username</label>
<input id="username" type="text" name="username" value="${escapeHtml(username)}" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${id}/abort">Cancel</a></p>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<p>${escapeHtml(message)}</p>`);
}

/** oidc-provider's forms carry their hidden fields; the submit buttons go inside them. */
function withButtons(form: string, buttons: string): string {
  return form.replace(/<\/form>\s*$/, `${buttons}\n</form>`);
}

function html(ctx: ProviderContext, body: string): void {
  ctx.type = 'html';
  ctx.body = body;
}

/** `renderError`: what went wrong, never more than oidc-provider's safe `out`. */
export async function renderError(ctx: ProviderContext, out: ErrorOut): Promise<void> {
  const lines = [out.error, out.error_description].filter((v): v is string => typeof v === 'string');
  html(ctx, page('Something went wrong', lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')));
}

/** `features.deviceFlow.userCodeInputSource`: the form asking for the code shown on the device. */
export async function userCodeInputSource(
  ctx: ProviderContext,
  form: string,
  _out: unknown,
  err?: { name?: string; userCode?: string },
): Promise<void> {
  let message = 'Enter the code displayed on your device.';
  if (err?.userCode || err?.name === 'NoCodeError') message = 'The code you entered is incorrect. Try again.';
  else if (err?.name === 'AbortedError') message = 'The sign-in request was cancelled.';
  else if (err) message = 'There was an error processing your request.';
  const cls = err ? ' class="error" role="alert"' : '';
  html(
    ctx,
    page(
      'Device sign-in',
      `<p${cls}>${message}</p>\n${withButtons(form, '<button type="submit">Continue</button>')}`,
    ),
  );
}

/** `features.deviceFlow.userCodeConfirmSource`: "is this the code on your device?" */
export async function userCodeConfirmSource(
  ctx: ProviderContext,
  form: string,
  client: { clientId: string; clientName?: string },
  _deviceInfo: unknown,
  userCode: string,
): Promise<void> {
  const buttons =
    '<button type="submit">Continue</button>\n<button type="submit" name="abort" value="yes">Cancel</button>';
  html(
    ctx,
    page(
      'Confirm device',
      `<p><strong>${escapeHtml(client.clientName ?? client.clientId)}</strong> asks to sign in on a device showing this code:</p>
<p><code>${escapeHtml(userCode)}</code></p>
<p>Continue only if the code matches the one on your device.</p>
${withButtons(form, buttons)}`,
    ),
  );
}

/** `features.deviceFlow.successSource`. */
export async function deviceSuccessSource(ctx: ProviderContext): Promise<void> {
  html(ctx, messagePage('Device signed in', 'Your device is signed in. You can close this page.'));
}

/** `features.rpInitiatedLogout.logoutSource`: post `logout=yes` to sign out. */
export async function logoutSource(ctx: ProviderContext, form: string): Promise<void> {
  const buttons =
    '<button type="submit" name="logout" value="yes">Sign out</button>\n<button type="submit">Stay signed in</button>';
  html(
    ctx,
    page('Sign out', `<p>Sign out of the local identity provider?</p>\n${withButtons(form, buttons)}`),
  );
}

/** `features.rpInitiatedLogout.postLogoutSuccessSource`. */
export async function postLogoutSuccessSource(ctx: ProviderContext): Promise<void> {
  html(ctx, messagePage('Signed out', 'You are signed out.'));
}
