// cloudflared's ingress rules and messages, table-driven (reference §5.5 and
// cloudflared ingress/ingress.go). `null` means cloudflared accepts the configuration.
import { describe, expect, it } from 'vitest';
import { compileRe2, parseGoUrl, validateIngressConfig } from './ingress-validation.js';

const catchAll = { service: 'http_status:404' };
const cfg = (...ingress: unknown[]) => ({ ingress });

const cases: Array<[string, unknown, string | null]> = [
  [
    'http origin then catch-all',
    cfg({ hostname: 'app.example.com', service: 'http://localhost:8001' }, catchAll),
    null,
  ],
  ['catch-all only', cfg(catchAll), null],
  ['catch-all with "*" hostname', cfg({ hostname: '*', service: 'http_status:404' }), null],
  ['catch-all with empty hostname (SDK shape)', cfg({ hostname: '', service: 'http_status:404' }), null],
  [
    'wildcard subdomain',
    cfg({ hostname: '*.example.com', service: 'https://localhost:8443' }, catchAll),
    null,
  ],
  [
    'tcp, ssh, rdp, smb',
    cfg(
      { hostname: 'a.example.com', service: 'tcp://localhost:5432' },
      { hostname: 'b.example.com', service: 'ssh://localhost:22' },
      { hostname: 'c.example.com', service: 'rdp://localhost:3389' },
      { hostname: 'd.example.com', service: 'smb://localhost:445' },
      catchAll,
    ),
    null,
  ],
  [
    'unix sockets and built-ins',
    cfg(
      { hostname: 'a.example.com', service: 'unix:/run/app.sock' },
      { hostname: 'b.example.com', service: 'unix+tls:/run/app.sock' },
      { hostname: 'c.example.com', service: 'hello_world' },
      { hostname: 'd.example.com', service: 'bastion' },
      { hostname: 'e.example.com', service: 'socks-proxy' },
      catchAll,
    ),
    null,
  ],
  [
    'path regex rule',
    cfg({ hostname: 'a.example.com', path: '^/api/.*$', service: 'http://localhost:1' }, catchAll),
    null,
  ],
  [
    'unknown scheme (cloudflared accepts it)',
    cfg({ hostname: 'a.example.com', service: 'foo://localhost:1' }, catchAll),
    null,
  ],
  ['http_status:999 (accepted)', cfg({ service: 'http_status:999' }), null],
  ['query string on the origin (no path)', cfg({ service: 'http://localhost:8080?x=1' }), null],
  [
    'integer durations in originRequest',
    { ingress: [catchAll], originRequest: { connectTimeout: 10, noTLSVerify: true } },
    null,
  ],

  ['no ingress', {}, "The config file doesn't contain any ingress rules"],
  ['empty ingress', cfg(), "The config file doesn't contain any ingress rules"],
  [
    'last rule has a hostname',
    cfg({ hostname: 'a.example.com', service: 'http://localhost:1' }),
    'The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)',
  ],
  [
    'last rule has a path',
    cfg({ path: '/x', service: 'http://localhost:1' }),
    'The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)',
  ],
  [
    'catch-all before the end',
    cfg({ hostname: '*', service: 'http://localhost:1' }, catchAll),
    "Rule #1 is matching the hostname '*', but this will match every hostname, meaning the rules which follow it will never be triggered.",
  ],
  [
    'second rule is a catch-all',
    cfg({ hostname: 'a.example.com', service: 'http://x:1' }, { service: 'http://x:2' }, catchAll),
    "Rule #2 is matching the hostname '', but this will match every hostname, meaning the rules which follow it will never be triggered.",
  ],
  [
    'hostname with a port',
    cfg({ hostname: 'a.example.com:8080', service: 'http://localhost:1' }, catchAll),
    'Hostname cannot contain a port',
  ],
  [
    'wildcard in the middle',
    cfg({ hostname: 'app.*.example.com', service: 'http://localhost:1' }, catchAll),
    'Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"',
  ],
  [
    'origin with a path',
    cfg({ hostname: 'a.example.com', service: 'http://localhost:8080/path' }, catchAll),
    "http://localhost:8080/path is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path",
  ],
  [
    'origin with a trailing slash',
    cfg({ service: 'http://localhost:8080/' }),
    "http://localhost:8080/ is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path",
  ],
  [
    'origin without scheme',
    cfg({ hostname: 'a.example.com', service: 'localhost:8080' }, catchAll),
    'localhost:8080 is an invalid address, please make sure it has a scheme and a hostname',
  ],
  [
    'rule without service',
    cfg({ hostname: 'a.example.com' }, catchAll),
    ' is an invalid address, please make sure it has a scheme and a hostname',
  ],
  [
    'IP:port without scheme',
    cfg({ service: '10.0.0.1:80' }),
    'parse "10.0.0.1:80": first path segment in URL cannot contain colon',
  ],
  [
    'bad port',
    cfg({ service: 'http://localhost:http' }),
    'parse "http://localhost:http": invalid port ":http" after host',
  ],
  [
    'non-numeric http_status',
    cfg({ service: 'http_status:abc' }),
    'invalid HTTP status code: strconv.Atoi: parsing "abc": invalid syntax',
  ],
  ['http_status out of range', cfg({ service: 'http_status:99' }), 'invalid HTTP status code: 99'],
  ['http_status with a sign and leading zeros (Atoi accepts)', cfg({ service: 'http_status:+0404' }), null],
  ['negative http_status', cfg({ service: 'http_status:-5' }), 'invalid HTTP status code: -5'],
  [
    'http_status beyond int64',
    cfg({ service: 'http_status:99999999999999999999' }),
    'invalid HTTP status code: strconv.Atoi: parsing "99999999999999999999": value out of range',
  ],
  [
    'http_status at int64 max (in range for Atoi, printed exactly)',
    cfg({ service: 'http_status:9223372036854775807' }),
    'invalid HTTP status code: 9223372036854775807',
  ],
  [
    'invalid path regex',
    cfg({ hostname: 'a.example.com', path: '(abc', service: 'http://localhost:1' }, catchAll),
    'Rule #1 has an invalid regex: error parsing regexp: missing closing ): `(abc`',
  ],
  [
    'RE2 flag group in a path',
    cfg(
      { hostname: 'a.example.com', path: '(?i)^/API/(?P<v>v[12])/', service: 'http://localhost:1' },
      catchAll,
    ),
    null,
  ],
  [
    'repeat count over 1000',
    cfg({ hostname: 'a.example.com', path: '^/a{1001}', service: 'http://localhost:1' }, catchAll),
    'Rule #1 has an invalid regex: error parsing regexp: invalid repeat count: `{1001}`',
  ],
  [
    'lookahead is not RE2',
    cfg({ hostname: 'a.example.com', path: '^(?=x)', service: 'http://localhost:1' }, catchAll),
    'Rule #1 has an invalid regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
  ],
  [
    'access audTag without teamName',
    cfg(
      {
        hostname: 'a.example.com',
        service: 'http://localhost:1',
        originRequest: { access: { required: true, teamName: '', audTag: ['x'] } },
      },
      catchAll,
    ),
    'access.TeamName cannot be blank when access.audTags are present',
  ],
  [
    'duration given as a string',
    { ingress: [catchAll], originRequest: { connectTimeout: '30s' } },
    'strconv.ParseInt: parsing "\\"30s\\"": invalid syntax',
  ],
  [
    'boolean given as a string',
    { ingress: [{ service: 'http_status:404', originRequest: { noTLSVerify: 'yes' } }] },
    'json: cannot unmarshal string into Go struct field UnvalidatedIngressRule.ingress.originRequest.noTLSVerify of type bool',
  ],
  [
    'hostname not a string',
    cfg({ hostname: 42, service: 'http://x:1' }, catchAll),
    'json: cannot unmarshal number into Go struct field UnvalidatedIngressRule.ingress.hostname of type string',
  ],
  [
    'service checked before hostname (same rule)',
    cfg({ hostname: 'a.example.com:1', service: 'localhost' }, catchAll),
    'localhost is an invalid address, please make sure it has a scheme and a hostname',
  ],
];

describe('validateIngressConfig', () => {
  it.each(cases)('%s', (_name, config, expected) => {
    expect(validateIngressConfig(config)).toBe(expected);
  });
});

describe('Go url.Parse emulation', () => {
  it.each([
    ['http://localhost:8080', { scheme: 'http', hostname: 'localhost', path: '' }],
    ['tcp://[::1]:5432', { scheme: 'tcp', hostname: '::1', path: '' }],
    ['HTTPS://Example.com', { scheme: 'https', hostname: 'Example.com', path: '' }],
    ['ssh://user@host:22', { scheme: 'ssh', hostname: 'host', path: '' }],
    ['mailto:x@example.com', { scheme: 'mailto', hostname: '', path: '' }],
  ])('%s', (raw, expected) => {
    expect(parseGoUrl(raw)).toEqual(expected);
  });

  it('rejects what Go rejects', () => {
    expect(parseGoUrl('://x')).toEqual({ error: 'parse "://x": missing protocol scheme' });
    expect(parseGoUrl('http://[::1')).toEqual({ error: 'parse "http://[::1": missing \']\' in host' });
  });
});

describe('RE2 compile errors', () => {
  it.each([
    ['^/api/(v1|v2)/', null],
    ['a)', 'error parsing regexp: unexpected ): `a)`'],
    ['[abc', 'error parsing regexp: missing closing ]: `[abc`'],
    ['x[abc', 'error parsing regexp: missing closing ]: `[abc`'],
    ['(abc', 'error parsing regexp: missing closing ): `(abc`'],
    ['*abc', 'error parsing regexp: missing argument to repetition operator: `*`'],
    ['a**', 'error parsing regexp: invalid nested repetition operator: `**`'],
    ['(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`'],
  ])('%s', (pattern, expected) => {
    expect(compileRe2(pattern)).toBe(expected);
  });

  it.each([
    '(?i)abc',
    '(?i:abc)',
    '(?s).*',
    '(?m)^x$',
    '(?U)a+',
    '(?P<n>x)',
    '(?<n>x)',
    '(?i-s:a.)b',
    '(?:a|b)+?',
    '\\Qa.b*\\E+',
    '[[:alpha:]_-]+',
    '[^[:^digit:]]',
    '\\pL\\p{Greek}\\PN\\p{^Han}',
    '[\\p{Lu}\\d]',
    '\\x{41}\\x41\\101\\0\\12',
    '\\A/x\\z',
    '\\bword\\B',
    '^*',
    '\\b+',
    '()*',
    'a{2}b{1,}c{0,1000}',
    'a{,5}',
    'a{01}',
    '[]a]',
    '[a-]',
    '\\_\\-\\/',
    '(a{10}){100}',
  ])('accepts the valid RE2 expression %s', (pattern) => {
    expect(compileRe2(pattern)).toBeNull();
  });

  it.each([
    ['a{1001}', 'invalid repeat count: `{1001}`'],
    ['a{2,1}', 'invalid repeat count: `{2,1}`'],
    ['a{1,1001}', 'invalid repeat count: `{1,1001}`'],
    ['a{99999999999}', 'invalid repeat count: `{99999999999}`'],
    ['(a{100}){100}', 'invalid repeat count: `{100}`'],
    ['[z-a]', 'invalid character class range: `z-a`'],
    ['x[0-9z-a]', 'invalid character class range: `z-a`'],
    ['[[:foo:]]', 'invalid character class range: `[:foo:]`'],
    ['\\p{Foo}', 'invalid character class range: `\\p{Foo}`'],
    ['\\p{Greek', 'invalid character class range: `\\p{Greek`'],
    ['x{2}{3}', 'invalid nested repetition operator: `{2}{3}`'],
    ['a*?+', 'invalid nested repetition operator: `*?+`'],
    ['\\C', 'invalid escape sequence: `\\C`'],
    ['a\\Z', 'invalid escape sequence: `\\Z`'],
    ['\\u0041', 'invalid escape sequence: `\\u`'],
    ['\\cA', 'invalid escape sequence: `\\c`'],
    ['\\8', 'invalid escape sequence: `\\8`'],
    ['\\xZZ', 'invalid escape sequence: `\\xZZ`'],
    ['[\\q]', 'invalid escape sequence: `\\q`'],
    ['ab\\', 'trailing backslash at end of expression: ``'],
    ['(?z)', 'invalid or unsupported Perl syntax: `(?z`'],
    ['(?i-)', 'invalid or unsupported Perl syntax: `(?i-)`'],
    ['(?<=x)', 'invalid named capture: `(?<=x)`'],
    ['(?P<1-x>a)', 'invalid named capture: `(?P<1-x>`'],
    ['(?P<n>', 'missing closing ): `(?P<n>`'],
    ['(?i)*', 'missing argument to repetition operator: `*`'],
    ['a|*', 'missing argument to repetition operator: `*`'],
    ['(+)', 'missing argument to repetition operator: `+`'],
    ['a)(', 'unexpected ): `a)(`'],
  ])('rejects %s like Go', (pattern, reason) => {
    expect(compileRe2(pattern)).toBe(`error parsing regexp: ${reason}`);
  });

  it('rejects groups nested more than 1000 deep', () => {
    const deep = `${'('.repeat(1000)}a${')'.repeat(1000)}`;
    expect(compileRe2(deep)).toBe(`error parsing regexp: expression nests too deeply: \`${deep}\``);
    expect(compileRe2(`${'('.repeat(999)}a${')'.repeat(999)}`)).toBeNull();
    expect(compileRe2(`${'(?:'.repeat(2000)}a${')'.repeat(2000)}`)).toBeNull(); // non-capturing groups add no depth
  });
});
