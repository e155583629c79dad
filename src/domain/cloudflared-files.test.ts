import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  credentialsFile,
  decodeTunnelToken,
  renderConfigYaml,
  renderIngress,
  tunnelToken,
} from './cloudflared-files.js';
import { createSecretBox } from './secret-box.js';
import { hashApiToken, hashPassword, newApiToken, PASSWORD_PARAMS, verifyPassword } from './passwords.js';

const secret = Buffer.alloc(32, 7);
const t = { accountTag: 'a'.repeat(32), tunnelId: 'c1744f8b-faa1-48a4-9e5c-02ac921467fa', secret };

describe('cloudflared files', () => {
  it('writes the credentials file with cloudflared key names', () => {
    expect(credentialsFile(t)).toEqual({
      AccountTag: t.accountTag,
      TunnelSecret: secret.toString('base64'),
      TunnelID: t.tunnelId,
      Endpoint: '',
    });
  });
  it('makes a padded base64 token of {a,s,t} in that order', () => {
    const token = tunnelToken(t);
    expect(Buffer.from(token, 'base64').toString()).toBe(
      `{"a":"${t.accountTag}","s":"${secret.toString('base64')}","t":"${t.tunnelId}"}`,
    );
    expect(decodeTunnelToken(token)).toEqual({
      a: t.accountTag,
      s: secret.toString('base64'),
      t: t.tunnelId,
    });
    expect(decodeTunnelToken('not a token')).toBeNull();
  });
  it('renders ingress with the catch-all last, and config.yaml', () => {
    const ingress = renderIngress(
      [
        { hostname: 'b.example.com', service: 'tcp://h:1' },
        { hostname: 'a.example.com', service: 'http://h' },
      ],
      'yaml',
    );
    expect(ingress.at(-1)).toEqual({ service: 'http_status:404' });
    const doc = parse(
      renderConfigYaml({ tunnelId: t.tunnelId, ingress, credentialsFile: 'credentials.json' }),
    );
    expect(doc).toEqual({ tunnel: t.tunnelId, 'credentials-file': 'credentials.json', ingress });
  });
});

describe('secrets at rest', () => {
  it('seals and opens; the sealed form reveals nothing and tampering fails', () => {
    const box = createSecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal(secret);
    expect(sealed).not.toContain(secret.toString('base64'));
    expect(box.open(sealed)).toEqual(secret);
    expect(box.seal(secret)).not.toBe(sealed);
    const tampered = sealed.slice(0, -3) + (sealed.endsWith('A') ? 'BBB' : 'AAA');
    expect(() => box.open(tampered)).toThrow();
    expect(() => createSecretBox(Buffer.alloc(32, 2)).open(sealed)).toThrow();
  });
  it('hashes passwords with scrypt and tokens with sha256', async () => {
    const h = await hashPassword('s3cret-pass');
    expect(h.startsWith(`scrypt$${PASSWORD_PARAMS.N}$${PASSWORD_PARAMS.r}$${PASSWORD_PARAMS.p}$`)).toBe(true);
    expect(await verifyPassword('s3cret-pass', h)).toBe(true);
    expect(await verifyPassword('wrong', h)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
    const tok = newApiToken();
    expect(tok).toMatch(/^tp_[A-Za-z0-9_-]{43}$/);
    expect(hashApiToken(tok)).toHaveLength(64);
  });
});
