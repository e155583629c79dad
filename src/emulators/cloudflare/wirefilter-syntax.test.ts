// The Rules-language checks of wirefilter-syntax.ts: a table of expressions accepted and of
// expressions refused with their position and reason, in wirefilter's error form.
import { describe, expect, it } from 'vitest';
import { checkWirefilterSyntax, usesRegexOperator } from './wirefilter-syntax.js';

const accepted = [
  // The form Tunnelplane's allow-list folding produces.
  '(http.host eq "a.example.com" and not ip.src in {203.0.113.0/24 198.51.100.7}) or (http.host eq "b.example.com" and not ip.src in {2001:db8::/32 ::1})',
  'ip.src in {203.0.113.0/24}',
  'ip.src in {10.0.0.0..10.0.0.255 2001:db8::1..2001:db8::ff}',
  'ip.src in {}',
  'ip.src in $office_ips',
  'ip.src eq 192.0.2.1',
  'ip.src == ::1 || ip.src ne 192.0.2.1',
  'http.host in {"a.example.com" "b.example.com"}',
  'http.host in {"a.example.com""b.example.com"}',
  'http.host eq r"raw" or http.host eq r#"has "quotes""#',
  'http.request.uri.path contains "\\x41\\"\\\\\\101"',
  'cf.edge.server_port in {80 443 8000..8080} and cf.threat_score gt 10',
  'starts_with(http.request.uri.path, "/api") and lower(http.host) eq "x"',
  'any(http.request.headers["x-token"][*] == "y")',
  'http.host eq "x"\nand not ip.src in {192.0.2.0/24}',
  'true',
];

/** Expression, position "(line:col)", carets line, reason. */
const refused: Array<[string, string, RegExp]> = [
  ['ip.src in {fe80::1%eth0}', '(1:19)', /zone index/],
  ['ip.src in {10.0.0.0/024}', '(1:21)', /prefix length "024" has a leading zero/],
  ['ip.src in {10.0.0.0/33}', '(1:21)', /prefix length 33 is out of range/],
  ['ip.src in {10.0.0.1/24}', '(1:12)', /host bits are set/],
  ['ip.src in {010.0.0.1}', '(1:12)', /leading zero/],
  ['ip.src in {10.0.0.0/8, 192.0.2.0/24}', '(1:22)', /set items are separated by spaces, not commas/],
  ['http.host in {"a", "b"}', '(1:18)', /not commas/],
  ['ip.src in {"192.0.2.1"}', '(1:12)', /expected an IP address, CIDR or range/],
  ['ip.src in {10.0.0.9..10.0.0.1}', '(1:12)', /incompatible range bounds/],
  ['ip.src in {10.0.0.0..::1}', '(1:12)', /incompatible range bounds/],
  ['ip.src eq 192.0.2.0/24', '(1:11)', /CIDR ranges are only allowed inside a set/],
  ['ip.src eq fe80::1%eth0', '(1:18)', /zone index/],
  ['ip.src in 192.0.2.1', '(1:11)', /expected a set \{…\} or a list \$name after "in"/],
  ["http.host eq 'a.example.com'", '(1:14)', /double quotes/],
  ['http.host eq a.example.com', '(1:14)', /expected a string in double quotes/],
  ['http.host in {"a" b}', '(1:19)', /expected a string in double quotes/],
  ['http.host eq "a', '(1:14)', /could not find an ending quote/],
  ['http.host eq "a\\q"', '(1:16)', /expected ", xHH or OOO after \\/],
  ['cf.edge.server_port eq "80"', '(1:24)', /expected an integer/],
  ['(http.host eq "a"', '(1:18)', /unrecognised input/],
  ['http.host eq "a")', '(1:17)', /unrecognised input/],
  ['ip.src in {192.0.2.1', '(1:21)', /unrecognised input/],
  ['http.host eq "x" & true', '(1:18)', /unrecognised input/],
  ['{192.0.2.1}', '(1:1)', /a set \{…\} may only follow "in"/],
  ['ip.src in {192.0.2.1 {192.0.2.2}}', '(1:22)', /unrecognised input/],
  ['http.host eq "x"\nand ip.src in {10.0.0.0/024}', '(2:25)', /leading zero/],
];

describe('wirefilter syntax', () => {
  it.each(accepted)('accepts %s', (expression) => {
    expect(checkWirefilterSyntax(expression)).toBeNull();
  });

  it.each(refused)('refuses %s at %s', (expression, position, reason) => {
    const message = checkWirefilterSyntax(expression) ?? '';
    expect(message.startsWith(`Filter parsing error ${position}:\n`), message).toBe(true);
    expect(message).toMatch(reason);
  });

  it("answers in wirefilter's form: position, the line, carets under the bad part, the reason", () => {
    expect(checkWirefilterSyntax('http.host eq "x" and ip.src in {10.0.0.1/24}')).toBe(
      [
        'Filter parsing error (1:33):',
        'http.host eq "x" and ip.src in {10.0.0.1/24}',
        '                                ^^^^^^^^^^^ host bits are set in 10.0.0.1/24 (the network is 10.0.0.0/24)',
      ].join('\n'),
    );
    expect(checkWirefilterSyntax('a or\nip.src in {fe80::1%eth0} or b')).toBe(
      [
        'Filter parsing error (2:19):',
        'ip.src in {fe80::1%eth0} or b',
        '                  ^^^^^ a zone index ("%…") is not allowed',
      ].join('\n'),
    );
  });

  it('finds regex operators outside strings only', () => {
    expect(usesRegexOperator('http.request.uri.path matches "^/a"')).toBe(true);
    expect(usesRegexOperator('http.request.uri.path ~ "^/a"')).toBe(true);
    expect(usesRegexOperator('http.host eq "matches ~"')).toBe(false);
  });
});
