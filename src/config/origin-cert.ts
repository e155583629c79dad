/**
 * The origin certificate `cert.pem` written by `cloudflared tunnel login`: one PEM block of type
 * `ARGO TUNNEL TOKEN` whose bytes are JSON `{zoneID, accountID, apiToken, endpoint?}`
 * (reference §5.3). Legacy key and certificate blocks are skipped, as cloudflared does.
 */

export interface OriginCert {
  zoneID: string;
  /** Absent in some older certificates: the zone's account is used then. */
  accountID?: string;
  apiToken: string;
  endpoint?: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function parseOriginCert(pem: string): OriginCert {
  let found: OriginCert | null = null;
  for (const m of pem.matchAll(BLOCK)) {
    const type = m[1]!;
    if (type === 'PRIVATE KEY' || type === 'CERTIFICATE') continue;
    if (type !== 'ARGO TUNNEL TOKEN') throw new Error(`unknown block ${type} in the certificate`);
    if (found) throw new Error('found multiple tokens in the certificate');
    const json = JSON.parse(
      Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64').toString('utf8'),
    ) as Partial<OriginCert>;
    if (!json.zoneID || !json.apiToken) throw new Error('missing token in the certificate');
    found = {
      zoneID: json.zoneID,
      ...(json.accountID ? { accountID: json.accountID } : {}),
      apiToken: json.apiToken,
      ...(json.endpoint ? { endpoint: json.endpoint.toLowerCase() } : {}),
    };
  }
  if (!found) throw new Error('missing token in the certificate');
  return found;
}

/** Writes a cert.pem as cloudflared does (used by tests and `dev`). */
export function formatOriginCert(cert: OriginCert): string {
  const body = Buffer.from(JSON.stringify(cert))
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ARGO TUNNEL TOKEN-----\n${body}\n-----END ARGO TUNNEL TOKEN-----\n`;
}
