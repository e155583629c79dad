/** Changes made "by hand" in Cloudflare (as a person in the dashboard would), through the emulator's public API. */
import type { StartedCloudflareEmulator } from '../../src/emulators/cloudflare/index.js';

export function cfHand(cf: StartedCloudflareEmulator) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(cf.url + path, {
      method,
      headers: { authorization: `Bearer ${cf.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as { success: boolean; result: any; errors: unknown[] };
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.errors)}`);
    return json.result;
  };
  return {
    call,
    deleteRecord: (id: string) => call('DELETE', `/zones/${cf.zoneId}/dns_records/${id}`),
    patchRecord: (id: string, patch: Record<string, unknown>) =>
      call('PATCH', `/zones/${cf.zoneId}/dns_records/${id}`, patch),
    createRecord: (rec: Record<string, unknown>) =>
      call('POST', `/zones/${cf.zoneId}/dns_records`, { ttl: 1, ...rec }),
    createTunnel: (name: string) =>
      call('POST', `/accounts/${cf.accountId}/cfd_tunnel`, {
        name,
        config_src: 'local',
        tunnel_secret: Buffer.alloc(32, 3).toString('base64'),
      }),
    deleteTunnel: (id: string) => call('DELETE', `/accounts/${cf.accountId}/cfd_tunnel/${id}`),
    putConfig: (id: string, ingress: unknown[]) =>
      call('PUT', `/accounts/${cf.accountId}/cfd_tunnel/${id}/configurations`, { config: { ingress } }),
  };
}
