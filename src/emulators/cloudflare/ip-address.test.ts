// The strict IP literal grammar shared by Access `ip` rules and WAF sets: a table of literals
// accepted (with their canonical form) and refused (with the part at fault).
import { describe, expect, it } from 'vitest';
import { formatIp, networkContains, parseIpAddress, parseIpNetwork } from './ip-address.js';

const accepted: Array<[string, string]> = [
  ['203.0.113.7', '203.0.113.7'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['203.0.113.0/24', '203.0.113.0/24'],
  ['10.0.0.0/8', '10.0.0.0/8'],
  ['192.0.2.1/32', '192.0.2.1'],
  ['::', '::'],
  ['::1', '::1'],
  ['::/0', '::/0'],
  ['2001:db8::/32', '2001:db8::/32'],
  ['2001:0DB8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ['2400:cb00:21:10a::/64', '2400:cb00:21:10a::/64'],
];

/** Literal, a fragment of the reason, and the [offset, length] of the part at fault. */
const refused: Array<[string, RegExp, [number, number]]> = [
  ['fe80::1%eth0', /zone index/, [7, 5]],
  ['10.0.0.0/024', /prefix length "024" has a leading zero/, [9, 3]],
  ['10.0.0.0/33', /prefix length 33 is out of range for IPv4 \(0 to 32\)/, [9, 2]],
  ['2001:db8::/129', /prefix length 129 is out of range for IPv6 \(0 to 128\)/, [11, 3]],
  ['10.0.0.1/24', /host bits are set in 10\.0\.0\.1\/24 \(the network is 10\.0\.0\.0\/24\)/, [0, 11]],
  ['2001:db8::1/32', /host bits are set .* 2001:db8::\/32/, [0, 14]],
  ['10.0.0.0/', /prefix length "" is not a decimal number/, [9, 0]],
  ['10.0.0.0/+8', /prefix length "\+8" is not a decimal number/, [9, 2]],
  ['010.0.0.1', /octet "010" .* leading zero/, [0, 9]],
  ['1.2.3', /not an IPv4 address/, [0, 5]],
  ['256.0.0.1', /greater than 255/, [0, 9]],
  ['1.2.3.4.5', /not an IPv4 address/, [0, 9]],
  ['1:2::3::4', /"::" may appear once/, [0, 9]],
  ['12345::', /group "12345"/, [0, 7]],
  ['1:2:3:4:5:6:7:8:9', /8 groups/, [0, 17]],
  ['1:2:3:4:5:6:7', /8 groups/, [0, 13]],
  ['::1.2.3.4:5', /group "1\.2\.3\.4"/, [0, 11]],
  ['::ffff:1.2.3.04', /embedded IPv4: octet "04"/, [0, 15]],
  ['', /not an IPv4 address/, [0, 0]],
  ['localhost', /not an IPv4 address/, [0, 9]],
];

describe('strict IP literals', () => {
  it.each(accepted)('accepts %s (canonical %s)', (text, canonical) => {
    const parsed = parseIpNetwork(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(formatIp(parsed.network)).toBe(canonical);
  });

  it.each(refused)('refuses %s', (text, reason, [offset, length]) => {
    const parsed = parseIpNetwork(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem.reason).toMatch(reason);
      expect([parsed.problem.offset, parsed.problem.length]).toEqual([offset, length]);
    }
  });

  it('takes no prefix where a single address is wanted', () => {
    expect(parseIpAddress('10.0.0.0/8').ok).toBe(false);
    expect(parseIpAddress('10.0.0.1').ok).toBe(true);
  });

  it('tells whether a network holds an address, never across families', () => {
    const contains = (network: string, address: string) => {
      const n = parseIpNetwork(network);
      const a = parseIpAddress(address);
      if (!n.ok || !a.ok) throw new Error('bad test input');
      return networkContains(n.network, a.network);
    };
    expect(contains('203.0.113.0/24', '203.0.113.255')).toBe(true);
    expect(contains('203.0.113.0/24', '203.0.114.0')).toBe(false);
    expect(contains('0.0.0.0/0', '192.0.2.1')).toBe(true);
    expect(contains('192.0.2.1', '192.0.2.1')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(contains('::/0', '192.0.2.1')).toBe(false);
    expect(contains('::ffff:0:0/96', '192.0.2.1')).toBe(false);
  });
});
