/**
 * The node:http glue: reads the request, routes `/__emulator/…` to the control API, applies
 * injected faults, hands everything else to the API layer, journals the exchange, and writes
 * JSON (or a watch stream). Holds no Kubernetes semantics of its own.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createHttpsServer } from 'node:https';
import type { ApiRequest, KubernetesApi } from './api.js';
import type { KubernetesEmulatorControl } from './control.js';
import { handleControlRequest } from './control.js';
import { injected } from './status.js';
import type { ObjectStore } from './store.js';
import type { RecordedRequest, Traffic } from './traffic.js';
import type { WatchHandle } from './watch.js';
import { serveWatch } from './watch.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const CONTROL_PREFIX = '/__emulator/';

export interface HttpServerDeps {
  api: KubernetesApi;
  control: KubernetesEmulatorControl;
  store: ObjectStore;
  traffic: Traffic;
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  tls?: { cert: string; key: string };
}

export interface KubernetesHttpServer {
  server: HttpServer | HttpsServer;
  /** Ends open watch streams (so `server.close()` can finish). */
  closeStreams(): void;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request entity too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
    ...extra,
  });
  res.end(text);
}

export function createKubernetesHttpServer(deps: HttpServerDeps): KubernetesHttpServer {
  const { api, control, store, traffic } = deps;
  const streams = new Set<WatchHandle>();

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.local');
    const method = (req.method ?? 'GET').toUpperCase();
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      sendJson(
        res,
        413,
        injected(413, 'Request entity too large: limit is 3145728', 'RequestEntityTooLarge').status,
      );
      return;
    }

    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      const answer = handleControlRequest(
        control,
        method,
        url.pathname.slice(CONTROL_PREFIX.length).replace(/\/+$/, ''),
        url.searchParams,
        body,
      );
      sendJson(res, answer.status, answer.body);
      return;
    }

    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const entry: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      time: new Date().toISOString(),
    };
    if (contentType) entry.contentType = contentType;
    if (body) entry.body = body;

    const fault = traffic.takeFault(method, url.pathname);
    if (fault) {
      const error = injected(fault.status, fault.message, fault.reason);
      const extra: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) {
        error.status.details = { ...error.status.details, retryAfterSeconds: fault.retryAfterSeconds };
        extra['Retry-After'] = String(fault.retryAfterSeconds);
      }
      entry.status = fault.status;
      entry.faultId = fault.id;
      traffic.record(entry);
      sendJson(res, fault.status, error.status, 'application/json', extra);
      return;
    }

    const apiRequest: ApiRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      contentType,
      accept: req.headers.accept ?? '',
      userAgent: req.headers['user-agent'] ?? '',
      authorization: req.headers.authorization ?? '',
      body,
    };
    const outcome = api.handle(apiRequest);
    if (outcome.user !== undefined) entry.user = outcome.user;
    const result = outcome.result;
    if (result.kind === 'watch') {
      entry.status = 200;
      traffic.record(entry);
      const handle = serveWatch(res, store, result.watch, () => streams.delete(handle));
      streams.add(handle);
      return;
    }
    entry.status = result.status;
    traffic.record(entry);
    if (result.kind === 'text') {
      res.writeHead(result.status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(result.body);
      return;
    }
    if (method === 'HEAD') {
      res.writeHead(result.status, { 'Content-Type': result.contentType ?? 'application/json' });
      res.end();
      return;
    }
    sendJson(res, result.status, result.body, result.contentType);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    onRequest(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent)
        sendJson(res, 500, injected(500, `Internal error occurred: ${message}`, 'InternalError').status);
      else res.end();
    });
  };
  const server = deps.tls
    ? createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key }, listener)
    : createServer(listener);

  return {
    server,
    closeStreams() {
      for (const handle of [...streams]) handle.close();
    },
  };
}
