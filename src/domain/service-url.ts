/**
 * Service URLs a route may point at, validated the way cloudflared validates ingress services
 * (reference §5.5), minus what cloudflared accepts but would not work: unknown schemes, a tcp
 * service without a port, status codes no HTTP client understands.
 */
import { AppError } from './errors.js';

export type Protocol =
  'http' | 'https' | 'tcp' | 'ssh' | 'rdp' | 'smb' | 'unix' | 'unix+tls' | 'http_status' | 'hello_world';

export interface Service {
  /** The normalised service string written into cloudflared's ingress rule. */
  readonly service: string;
  readonly protocol: Protocol;
  /** TCP-like services are reached with `cloudflared access tcp`. */
  readonly tcpLike: boolean;
  /** The origin port for URL services (explicit or the scheme's default); null otherwise. */
  readonly port: number | null;
}

const URL_SCHEMES: Record<string, number | null> = {
  http: 80,
  https: 443,
  tcp: null, // cloudflared would assume 7864, which is never what a user means
  ssh: 22,
  rdp: 3389,
  smb: 445,
};

const TCP_LIKE = new Set<string>(['tcp', 'ssh', 'rdp', 'smb']);

/** TCP-like protocols are reached through `cloudflared access tcp` and always protected by Access. */
export const isTcpLikeProtocol = (protocol: string) => TCP_LIKE.has(protocol);

// scheme://host[:port] and nothing after it. Host: a DNS name, IPv4, or a bracketed IPv6.
const URL_FORM =
  /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::(\d{1,5}))?(.*)$/i;

const reject = (input: string, rule: string, message: string) =>
  new AppError('route.invalid_service', message, { service: input.slice(0, 300), rule });

export function parseService(raw: string): Service {
  const input = raw.trim();
  if (input.length === 0)
    throw reject(
      raw,
      'required',
      'The service is empty: give a URL such as http://localhost:8000 or tcp://192.168.1.10:10000.',
    );
  if (input.length > 300) throw reject(raw, 'length', 'The service is longer than 300 characters.');
  if (/[\s\u0000-\u001f\u007f]/.test(input))
    throw reject(raw, 'characters', 'The service may not contain spaces or control characters.');

  const lower = input.toLowerCase();
  if (lower === 'hello_world' || lower === 'hello-world') {
    return { service: 'hello_world', protocol: 'hello_world', tcpLike: false, port: null };
  }
  if (lower.startsWith('http_status:')) {
    const code = input.slice('http_status:'.length);
    if (!/^\d{3}$/.test(code) || Number(code) < 100 || Number(code) > 599) {
      throw reject(
        raw,
        'http_status',
        `invalid HTTP status code: ${code}; use http_status:NNN with NNN from 100 to 599.`,
      );
    }
    return { service: `http_status:${code}`, protocol: 'http_status', tcpLike: false, port: null };
  }
  for (const scheme of ['unix+tls', 'unix'] as const) {
    if (lower.startsWith(`${scheme}:`)) {
      const path = input.slice(scheme.length + 1);
      if (!path.startsWith('/') || path.includes('\0')) {
        throw reject(
          raw,
          'unix_path',
          `${input} is invalid: ${scheme}: needs an absolute socket path, e.g. ${scheme}:/run/app.sock.`,
        );
      }
      return { service: `${scheme}:${path}`, protocol: scheme, tcpLike: false, port: null };
    }
  }

  const m = URL_FORM.exec(input);
  if (!m) {
    throw reject(
      raw,
      'address',
      `${input} is an invalid address, please make sure it has a scheme and a hostname (e.g. http://localhost:8000).`,
    );
  }
  const scheme = m[1]!.toLowerCase();
  const host = m[2]!.toLowerCase();
  const portText = m[3];
  const rest = m[4]!;
  if (!Object.hasOwn(URL_SCHEMES, scheme)) {
    throw reject(
      raw,
      'scheme',
      `${input} uses the unsupported scheme "${scheme}": use http, https, tcp, ssh, rdp, smb, unix, unix+tls, http_status or hello_world.`,
    );
  }
  if (rest.startsWith('/') || rest.startsWith('?') || rest.startsWith('#')) {
    throw reject(
      raw,
      'path',
      `${input} is an invalid address, ingress rules don't support proxying to a different path on the origin service (remove everything after the host and port, including a trailing "/").`,
    );
  }
  if (rest !== '') {
    throw reject(
      raw,
      'address',
      `${input} is an invalid address, please make sure it has a scheme and a hostname.`,
    );
  }
  if (host.startsWith('[')) {
    // Let the platform judge the IPv6 literal.
    try {
      new URL(`http://${host}/`);
    } catch {
      throw reject(raw, 'host', `${input} has an invalid IPv6 address.`);
    }
  } else if (host.split('.').some((label) => label.length === 0 || label.length > 63)) {
    throw reject(raw, 'host', `${input} has an invalid host name.`);
  }
  let port: number | null = URL_SCHEMES[scheme] ?? null;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw reject(raw, 'port', `${input} has port ${portText}, outside 1-65535.`);
    }
  } else if (scheme === 'tcp') {
    throw reject(raw, 'port', `${input} needs an explicit port for tcp://, e.g. tcp://${host}:5432.`);
  }
  const service = `${scheme}://${host}${portText !== undefined ? `:${port}` : ''}`;
  const protocol = scheme as Protocol;
  return { service, protocol, tcpLike: TCP_LIKE.has(protocol), port };
}
