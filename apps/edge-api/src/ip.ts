/**
 * IP address parsing and the ranges an image URL may never reach: loopback, private, link-local (cloud metadata
 * 169.254.169.254 included), CGNAT, multicast, reserved, documentation, and IPv6 forms that embed an IPv4 address
 * (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), which are checked as that IPv4 address.
 * @module
 */

/** Parses dotted-quad IPv4 (the WHATWG URL parser already canonicalises decimal, octal and hex forms). */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** Parses IPv6 text (brackets allowed, trailing dotted IPv4 allowed, no zone ids) to 8 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (s.includes("%") || !s.includes(":")) return undefined;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  const maybeV4 = s.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const v4 = parseIPv4(maybeV4);
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    s = s.slice(0, lastColon + 1) + "0:0"; // two placeholder groups, replaced below
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  if (head === undefined || rest === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (tail.length === 2) groups = [...groups.slice(0, groups.length - 2), ...tail];
  return groups.length === 8 ? groups : undefined;
}

const V4_BLOCKED: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

export function isBlockedIPv4(v: number): boolean {
  return V4_BLOCKED.some(([base, bits]) => {
    const b = parseIPv4(base) as number;
    const size = 2 ** (32 - bits);
    return Math.floor(v / size) === Math.floor(b / size);
  });
}

function prefixMatches(groups: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if (((groups[i] as number) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

export function isBlockedIPv6(g: readonly number[]): boolean {
  const v4At = (i: number) => (g[i] as number) * 65536 + (g[i + 1] as number);
  if (g.every((x) => x === 0)) return true; // ::
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true; // ::1
  if (prefixMatches(g, [0, 0, 0, 0, 0, 0xffff], 96)) return isBlockedIPv4(v4At(6)); // IPv4-mapped
  if (prefixMatches(g, [0, 0, 0, 0, 0, 0], 96)) return true; // IPv4-compatible (deprecated)
  if (prefixMatches(g, [0x64, 0xff9b], 96)) return isBlockedIPv4(v4At(6)); // NAT64
  if (prefixMatches(g, [0x2002], 16)) return isBlockedIPv4(v4At(1)); // 6to4
  return (
    prefixMatches(g, [0x100], 64) || // discard
    prefixMatches(g, [0x2001, 0xdb8], 32) || // documentation
    prefixMatches(g, [0xfc00], 7) || // unique local (incl. fd00:ec2::254 metadata)
    prefixMatches(g, [0xfe80], 10) || // link-local
    prefixMatches(g, [0xfec0], 10) || // site-local (deprecated)
    prefixMatches(g, [0xff00], 8) // multicast
  );
}

/** For a literal address (v4, or v6 with or without brackets): blocked or not; `undefined` if it is not an IP. */
export function isBlockedAddress(text: string): boolean | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return isBlockedIPv4(v4);
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return isBlockedIPv6(v6);
  return undefined;
}
