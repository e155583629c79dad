/**
 * What cloudflared reads: the ingress list, `config.yaml`, the credentials file and the run
 * token (reference §2.4, §5.1, §5.4). Pure functions of the tunnel and its routes.
 */
import { stringify } from 'yaml';
import { renderOriginRequest, type IngressFormat, type OriginRequest } from './origin-request.js';

export type { IngressFormat } from './origin-request.js';

export interface IngressRule {
  hostname?: string;
  service: string;
  originRequest?: Record<string, unknown>;
}

/** What a route gives its ingress rule. */
export interface IngressRoute {
  hostname: string;
  service: string;
  originRequest?: OriginRequest | null;
  accessAud?: string | null;
}

/** The catch-all every ingress list ends with. */
export const CATCH_ALL: IngressRule = { service: 'http_status:404' };

/**
 * Routes in the order given (callers pass newest first, as the proof of concept did), then the
 * catch-all. A rule carries `originRequest` only when its route sets options.
 */
export function renderIngress(routes: ReadonlyArray<IngressRoute>, format: IngressFormat): IngressRule[] {
  return [
    ...routes.map((r): IngressRule => {
      const originRequest = r.originRequest
        ? renderOriginRequest(r.originRequest, format, r.accessAud ?? null)
        : undefined;
      return originRequest
        ? { hostname: r.hostname, service: r.service, originRequest }
        : { hostname: r.hostname, service: r.service };
    }),
    { ...CATCH_ALL },
  ];
}

export interface CredentialsFile {
  AccountTag: string;
  TunnelSecret: string;
  TunnelID: string;
  Endpoint: string;
}

export function credentialsFile(t: {
  accountTag: string;
  tunnelId: string;
  secret: Buffer;
}): CredentialsFile {
  return {
    AccountTag: t.accountTag,
    TunnelSecret: t.secret.toString('base64'),
    TunnelID: t.tunnelId,
    Endpoint: '',
  };
}

/** `base64(JSON{a,s,t})` with keys in Go's order, as cloudflared's ParseToken expects. */
export function tunnelToken(t: { accountTag: string; tunnelId: string; secret: Buffer }): string {
  const json = JSON.stringify({ a: t.accountTag, s: t.secret.toString('base64'), t: t.tunnelId });
  return Buffer.from(json, 'utf8').toString('base64');
}

export function decodeTunnelToken(token: string): { a: string; s: string; t: string } | null {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, unknown>;
    if (typeof parsed.a === 'string' && typeof parsed.s === 'string' && typeof parsed.t === 'string') {
      return { a: parsed.a, s: parsed.s, t: parsed.t };
    }
  } catch {
    // not a token
  }
  return null;
}

/** The locally-managed `config.yaml`; the credentials path is the one the user's run command passes. */
export function renderConfigYaml(t: {
  tunnelId: string;
  ingress: IngressRule[];
  credentialsFile?: string;
}): string {
  const doc: Record<string, unknown> = { tunnel: t.tunnelId };
  if (t.credentialsFile) doc['credentials-file'] = t.credentialsFile;
  doc.ingress = t.ingress;
  return stringify(doc, { lineWidth: 0 });
}
