/**
 * Ownership markers: how Tunnelplane recognises what it made outside, and only what this
 * installation made. Every marker carries the installation's id (kept in its database:
 * main/installation.ts), so two installations sharing a Cloudflare account or a namespace
 * never adopt or collect each other's objects. Resync touches nothing without our marker.
 */
import { AppError } from './errors.js';

export const INSTANCE_ID = /^[a-z0-9]{1,12}$/;

export interface Ownership {
  readonly id: string;
  /** Cloudflare tunnel names: `tunnelplane-<id>-<tunnel>`. */
  readonly tunnelPrefix: string;
  tunnelName(tunnel: string): string;
  /** DNS record comments: `managed-by:tunnelplane/<id> tunnel=<t> route=<r>` (≤ 100 chars). */
  readonly dnsCommentPrefix: string;
  dnsComment(tunnel: string, route: string): string;
  parseDnsComment(comment: string | null | undefined): { tunnel: string; route: string } | null;
  /** Access applications and service tokens: `tunnelplane-<id>-<tunnel>-<route>`. */
  readonly accessPrefix: string;
  accessName(tunnel: string, route: string): string;
  /** WAF custom rules: ref `tunnelplane-<id>-allowlist-N`. */
  readonly firewallRefPrefix: string;
  /** Kubernetes objects carry these labels; the selector finds them. */
  readonly kubernetesLabels: Readonly<Record<string, string>>;
  readonly kubernetesSelector: string;
}

export function ownership(id: string): Ownership {
  if (!INSTANCE_ID.test(id))
    throw new AppError(
      'config.invalid_instance',
      `instance ${JSON.stringify(id)} must be 1-12 lowercase letters or digits`,
    );
  const tunnelPrefix = `tunnelplane-${id}-`;
  const dnsCommentPrefix = `managed-by:tunnelplane/${id} `;
  const comment = new RegExp(`^managed-by:tunnelplane/${id} tunnel=([a-z0-9-]+) route=([a-z0-9]+)$`);
  const kubernetesLabels = { 'app.kubernetes.io/managed-by': 'tunnelplane', 'tunnelplane.io/instance': id };
  return {
    id,
    tunnelPrefix,
    tunnelName: (tunnel) => `${tunnelPrefix}${tunnel}`,
    dnsCommentPrefix,
    dnsComment: (tunnel, route) => `${dnsCommentPrefix}tunnel=${tunnel} route=${route}`,
    parseDnsComment(c) {
      const m = c ? comment.exec(c) : null;
      return m ? { tunnel: m[1]!, route: m[2]! } : null;
    },
    accessPrefix: tunnelPrefix,
    accessName: (tunnel, route) => `${tunnelPrefix}${tunnel}-${route}`,
    firewallRefPrefix: `${tunnelPrefix}allowlist-`,
    kubernetesLabels,
    kubernetesSelector: Object.entries(kubernetesLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  };
}
