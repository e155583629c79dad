import { describe, expect, it } from 'vitest';
import { localService, shareTunnelName } from './share-command.js';

describe('shareTunnelName', () => {
  it.each([
    ['user1', 'share-user1'],
    ['Alice', 'share-alice'],
    ['alice.smith@example.com', 'share-alice-smith-exampl'],
    ['a__b', 'share-a-b'],
    ['bob-', 'share-bob'],
    ['x'.repeat(30), `share-${'x'.repeat(18)}`],
    ['ab-cdefghijklmnopq-rs', 'share-ab-cdefghijklmnopq'],
    ['', 'share'],
    ['Ünïcode', 'share-n-code'],
  ])('%j shares on %j', (user, name) => {
    const got = shareTunnelName(user);
    expect(got).toBe(name);
    // The server's rule for tunnel names (src/domain/names.ts).
    expect(got).toMatch(/^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/);
    expect(got).not.toContain('--');
  });
});

describe('localService', () => {
  it.each([
    ['8000', 'http://localhost:8000'],
    ['localhost:3000', 'http://localhost:3000'],
    ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['http://localhost:8000', 'http://localhost:8000'],
    ['https://10.0.0.7:8443', 'https://10.0.0.7:8443'],
    ['tcp://localhost:22', 'tcp://localhost:22'],
    ['http_status:404', 'http_status:404'],
    ['hello_world', 'hello_world'],
  ])('%j is %j', (arg, service) => {
    expect(localService(arg)).toBe(service);
  });

  it.each(['0', '65536'])('refuses port %j', (port) => {
    expect(() => localService(port)).toThrow(/is not from 1 to 65535/);
  });
});
