import { describe, expect, it } from 'vitest';
import { parseService } from './service-url.js';
import { AppError } from './errors.js';

describe('parseService', () => {
  it.each([
    ['http://localhost:8000', 'http://localhost:8000', 'http', false, 8000],
    ['HTTP://LocalHost:8000', 'http://localhost:8000', 'http', false, 8000],
    ['https://10.0.0.1', 'https://10.0.0.1', 'https', false, 443],
    ['tcp://192.168.1.10:10000', 'tcp://192.168.1.10:10000', 'tcp', true, 10000],
    ['ssh://host.internal', 'ssh://host.internal', 'ssh', true, 22],
    ['rdp://10.1.1.1:3390', 'rdp://10.1.1.1:3390', 'rdp', true, 3390],
    ['smb://files', 'smb://files', 'smb', true, 445],
    ['http://[::1]:8080', 'http://[::1]:8080', 'http', false, 8080],
    ['unix:/run/app.sock', 'unix:/run/app.sock', 'unix', false, null],
    ['unix+tls:/run/app.sock', 'unix+tls:/run/app.sock', 'unix+tls', false, null],
    ['http_status:404', 'http_status:404', 'http_status', false, null],
    ['hello_world', 'hello_world', 'hello_world', false, null],
  ])('accepts %s', (input, service, protocol, tcpLike, port) => {
    expect(parseService(input)).toEqual({ service, protocol, tcpLike, port });
  });

  it.each([
    ['', 'required'],
    ['localhost:8000', 'address'],
    ['http://', 'address'],
    ['http://localhost:8000/', 'path'],
    ['http://localhost:8000/api', 'path'],
    ['http://localhost?x=1', 'path'],
    ['tcp://192.168.1.10', 'port'],
    ['tcp://h:0', 'port'],
    ['tcp://h:65536', 'port'],
    ['http://h:99999', 'port'],
    ['foo://localhost:1', 'scheme'],
    ['ws://localhost:1', 'scheme'],
    ['constructor://10.0.0.5:5432', 'scheme'],
    ['__proto__://h:1', 'address'],
    ['tostring://h:1', 'scheme'],
    ['http_status:999', 'http_status'],
    ['http_status:abc', 'http_status'],
    ['unix:relative.sock', 'unix_path'],
    ['http://local host', 'characters'],
    ['http://user:pw@host', 'address'],
    ['x'.repeat(301), 'length'],
  ])('rejects %j naming rule %s', (input, rule) => {
    try {
      parseService(input);
      expect.fail('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('route.invalid_service');
      expect((err as AppError).status).toBe(400);
      expect((err as AppError).details.rule).toBe(rule);
    }
  });
});
