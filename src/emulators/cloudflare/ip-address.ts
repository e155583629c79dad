// Strict IP literals, shared by Access `ip` rules and WAF expression sets: one IPv4 address
// (four decimal octets, no leading zeros), one IPv6 address (RFC 4291 text form, an embedded
// dotted IPv4 allowed, no zone index), or either followed by `/prefix` (decimal, no leading
// zeros, within the family's width, and no host bits set). Anything else is refused with a
// reason naming the offending part, so callers can point at it.

/** An address or network: `value` holds the address bits, `prefix` the network length. */
export interface IpNetwork {
  version: 4 | 6;
  value: bigint;
  prefix: number;
}

/** Why a literal was refused, and which part of it (offset and length) is at fault. */
export interface IpProblem {
  reason: string;
  offset: number;
  length: number;
}

export type IpResult = { ok: true; network: IpNetwork } | { ok: false; problem: IpProblem };

const OCTET = /^(?:0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function refuse(reason: string, offset: number, length: number): IpResult {
  return { ok: false, problem: { reason, offset, length } };
}

function parseIpv4(text: string): bigint | string {
  const parts = text.split('.');
  if (parts.length !== 4) return `"${text}" is not an IPv4 address (four decimal octets)`;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d+$/.test(part)) return `"${text}" is not an IPv4 address (four decimal octets)`;
    if (!OCTET.test(part)) return `octet "${part}" of ${text} has a leading zero`;
    const octet = Number(part);
    if (octet > 255) return `octet ${part} of ${text} is greater than 255`;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | string {
  const bad = `"${text}" is not an IPv6 address`;
  const halves = text.split('::');
  if (halves.length > 2) return `${bad} ("::" may appear once)`;
  const compressed = halves.length === 2;
  // Each half to 16-bit words; a dotted IPv4 may end the address only.
  const wordsOf = (half: string, last: boolean): number[] | string => {
    const words: number[] = [];
    const groups = half === '' ? [] : half.split(':');
    for (const [i, group] of groups.entries()) {
      if (last && i === groups.length - 1 && group.includes('.')) {
        const v4 = parseIpv4(group);
        if (typeof v4 === 'string') return `${bad} (embedded IPv4: ${v4})`;
        words.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (HEX_GROUP.test(group)) {
        words.push(parseInt(group, 16));
      } else {
        return `${bad} (group "${group}" is not 1 to 4 hex digits)`;
      }
    }
    return words;
  };
  const head = wordsOf(halves[0] ?? '', !compressed);
  const tail = compressed ? wordsOf(halves[1] ?? '', true) : [];
  if (typeof head === 'string') return head;
  if (typeof tail === 'string') return tail;
  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) return `${bad} (it needs 8 groups, or fewer with "::")`;
  const words = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  return words.reduce((acc, word) => (acc << 16n) | BigInt(word), 0n);
}

/** Parses one address, without a prefix. */
export function parseIpAddress(text: string): IpResult {
  const zone = text.indexOf('%');
  if (zone >= 0) return refuse('a zone index ("%…") is not allowed', zone, text.length - zone);
  const version = text.includes(':') ? 6 : 4;
  const value = version === 6 ? parseIpv6(text) : parseIpv4(text);
  if (typeof value === 'string') return refuse(value, 0, text.length);
  return { ok: true, network: { version, value, prefix: version === 4 ? 32 : 128 } };
}

/** Parses an address or a CIDR network (`address/prefix`, host bits zero). */
export function parseIpNetwork(text: string): IpResult {
  const slash = text.indexOf('/');
  const address = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (slash < 0 || !address.ok) return address;
  const prefixText = text.slice(slash + 1);
  const { version, value } = address.network;
  const width = version === 4 ? 32 : 128;
  const at = slash + 1;
  if (!/^\d+$/.test(prefixText)) {
    return refuse(`prefix length "${prefixText}" is not a decimal number`, at, prefixText.length);
  }
  if (!/^(?:0|[1-9]\d*)$/.test(prefixText)) {
    return refuse(`prefix length "${prefixText}" has a leading zero`, at, prefixText.length);
  }
  const prefix = Number(prefixText);
  if (prefix > width) {
    return refuse(
      `prefix length ${prefix} is out of range for IPv${version} (0 to ${width})`,
      at,
      prefixText.length,
    );
  }
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if ((value & hostMask) !== 0n) {
    const network = formatIp({ version, value: value & ~hostMask, prefix });
    return refuse(`host bits are set in ${text} (the network is ${network})`, 0, text.length);
  }
  return { ok: true, network: { version, value, prefix } };
}

/** Whether `address` (a single address) lies in `network`; families never mix. */
export function networkContains(network: IpNetwork, address: IpNetwork): boolean {
  if (network.version !== address.version) return false;
  const width = network.version === 4 ? 32 : 128;
  const shift = BigInt(width - network.prefix);
  return address.value >> shift === network.value >> shift;
}

/** Canonical text: dotted IPv4, or IPv6 in RFC 5952 form; `/prefix` unless a single address. */
export function formatIp(network: IpNetwork): string {
  const { version, value, prefix } = network;
  const width = version === 4 ? 32 : 128;
  let text: string;
  if (version === 4) {
    text = [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  } else {
    const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
    let best = { start: -1, length: 0 };
    for (let i = 0; i < 8;) {
      if (words[i] !== 0) {
        i += 1;
        continue;
      }
      let j = i;
      while (j < 8 && words[j] === 0) j += 1;
      if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
      i = j;
    }
    const hex = words.map((w) => w.toString(16));
    text =
      best.start < 0
        ? hex.join(':')
        : `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
  }
  return prefix === width ? text : `${text}/${prefix}`;
}
