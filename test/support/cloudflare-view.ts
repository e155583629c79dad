/** Reads the Cloudflare emulator's state the way tests assert on it. */
import type { StartedCloudflareEmulator } from '../../src/emulators/cloudflare/index.js';

export interface CfView {
  tunnels: Array<{
    id: string;
    name: string;
    secret: string;
    configSrc: string;
    ingress: Array<{ hostname?: string; service: string }> | null;
    version: number;
  }>;
  records: Array<{
    id: string;
    name: string;
    type: string;
    content: string;
    proxied: boolean;
    comment: string | null;
  }>;
  accessApps: Array<{ id: string; name: string; domain: string }>;
  serviceTokens: Array<{ id: string; name: string }>;
}

export function cfView(cf: StartedCloudflareEmulator): CfView {
  const s = cf.control.state() as any;
  return {
    tunnels: s.tunnels
      .filter((t: any) => !t.deletedAt)
      .map((t: any) => ({
        id: t.id,
        name: t.name,
        secret: t.secret,
        configSrc: t.configSrc,
        ingress: t.configuration?.config?.ingress ?? null,
        version: t.configuration?.version ?? 0,
      })),
    records: s.dnsRecords.map((r: any) => ({
      id: r.id,
      name: r.name,
      type: r.type,
      content: r.content,
      proxied: r.proxied,
      comment: r.comment,
    })),
    accessApps: s.accessApps.map((a: any) => ({ id: a.id, name: a.fields.name, domain: a.fields.domain })),
    serviceTokens: s.serviceTokens.map((t: any) => ({ id: t.id, name: t.name })),
  };
}
