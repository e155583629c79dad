/**
 * The web console (web/, built by Vite into dist/web by scripts/build-web.mjs): `GET /` for
 * browsers (a request that accepts text/html; every other client keeps the proof of concept's
 * `Welcome`) and its files under `/assets/`. The built files are read once, at start, and kept
 * in memory with their gzip form. Every answer carries a strict Content-Security-Policy (nothing
 * inline, nothing from elsewhere, never framed) and `X-Content-Type-Options: nosniff`. When the
 * console was never built, `/` says how to build it instead of failing silently. A browser's script
 * requests get their 401s without the Basic challenge (which would open the browser's own prompt).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hookRoutesWhere } from './request-hooks.js';

/** What the console's pages may load and do: only this origin's files and API, no inline code. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface ConsoleFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
}

/**
 * Where the built console is: beside the bundled entrypoints (dist/main/… or dist/chunks/… →
 * dist/web) or, running from source, the checkout's dist/web.
 */
export function defaultConsoleRoot(): string {
  const candidates = [new URL('../web/', import.meta.url), new URL('../../dist/web/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return fileURLToPath(candidates[candidates.length - 1]!);
}

/** Every file under `root`, by URL path (`/index.html`, `/assets/index-abc.js`). */
function readTree(root: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        walk(full, `${prefix}${name}/`);
        continue;
      }
      const body = readFileSync(full);
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const compressible = /text|json|svg/.test(type) && body.length > 512;
      files.set(`${prefix}${name}`, {
        body,
        gzip: compressible ? gzipSync(body, { level: 9 }) : null,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      });
    }
  };
  walk(root, '/');
  return files;
}

/** One read (and gzip) per build of the console, however many apps a process makes (tests do). */
const trees = new Map<string, { mtimeMs: number; files: Map<string, ConsoleFile> }>();
function loadTree(root: string): Map<string, ConsoleFile> {
  const index = join(root, 'index.html');
  if (!existsSync(index)) return new Map();
  const mtimeMs = statSync(index).mtimeMs;
  const known = trees.get(root);
  if (known?.mtimeMs === mtimeMs) return known.files;
  const files = readTree(root);
  trees.set(root, { mtimeMs, files });
  return files;
}

const wantsHtml = (req: FastifyRequest) => (req.headers.accept ?? '').includes('text/html');

function securityHeaders(reply: FastifyReply) {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

function sendFile(req: FastifyRequest, reply: FastifyReply, file: ConsoleFile, immutable: boolean) {
  securityHeaders(reply);
  reply.header('etag', file.etag);
  reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('vary', 'accept-encoding');
  reply.type(file.type);
  if (req.headers['if-none-match'] === file.etag) return reply.status(304).send();
  if (file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    reply.header('content-encoding', 'gzip');
    return reply.send(file.gzip);
  }
  return reply.send(file.body);
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tunnelplane</title></head>
<body><h1>The web console is not built</h1>
<p>This server found no console files. In a checkout, run <code>npm run build</code> (or <code>npm start</code>,
which builds it first), then start the server again. The API (<a href="/docs">/docs</a>) works without it.</p>
</body></html>`;

/**
 * Registers the console: an `onRequest` hook answers `GET /` for browsers (so the proof of
 * concept's `GET /` route stays as it is for everyone else), and `GET /assets/*` the files.
 */
export function registerConsole(app: FastifyInstance, opts: { root?: string } = {}) {
  const root = opts.root ?? defaultConsoleRoot();
  const files = loadTree(root);
  const index = files.get('/index.html') ?? null;
  if (!index)
    app.log.warn({ root }, 'the web console is not built (npm run build): / answers how to build it');

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!wantsHtml(req)) return;
    if (index) return sendFile(req, reply, index, false);
    securityHeaders(reply);
    return reply.status(503).type('text/html; charset=utf-8').send(NOT_BUILT);
  };
  // On `GET /` only (registered after this): no other request pays for it. (The 401 without a
  // Basic challenge for the console's own requests is the error mapper's.)
  hookRoutesWhere(app, (methods, url) => url === '/' && methods.includes('GET'), { onRequest: page });

  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    { config: { public: true }, schema: { hide: true } },
    async (req, reply) => {
      const file = files.get(`/assets/${req.params['*']}`);
      if (!file) {
        securityHeaders(reply);
        return reply.status(404).type('text/plain; charset=utf-8').send('Not found');
      }
      return sendFile(req, reply, file, true);
    },
  );
}
