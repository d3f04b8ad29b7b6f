import { describe, expect, it } from "vitest";
import { isBlockedAddress, parseIPv4, parseIPv6 } from "../../src/ip.ts";

describe("IP parsing and blocked ranges", () => {
  it("parses IPv4 and IPv6 text, including :: and a trailing dotted quad", () => {
    expect(parseIPv4("192.168.1.2")).toBe(0xc0a80102);
    expect(parseIPv4("256.1.1.1")).toBeUndefined();
    expect(parseIPv4("1.2.3")).toBeUndefined();
    expect(parseIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6("[2001:db8::ff00:42:8329]")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329]);
    expect(parseIPv6("::ffff:10.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
    expect(parseIPv6("1::2::3")).toBeUndefined();
    expect(parseIPv6("fe80::1%eth0")).toBeUndefined();
  });

  it.each([
    ["127.0.0.1", true], ["10.255.0.1", true], ["172.16.0.1", true], ["172.32.0.1", false], ["192.168.0.1", true],
    ["169.254.169.254", true], ["100.64.0.1", true], ["0.0.0.0", true], ["224.0.0.1", true], ["255.255.255.255", true],
    ["8.8.8.8", false], ["93.184.215.14", false],
    ["::1", true], ["::", true], ["fd00:ec2::254", true], ["fe80::1", true], ["ff02::1", true], ["2001:db8::1", true],
    ["::ffff:127.0.0.1", true], ["::ffff:7f00:1", true], ["::ffff:8.8.8.8", false], ["64:ff9b::a9fe:a9fe", true],
    ["2002:0a00:0001::", true], ["2606:4700:4700::1111", false],
    ["example.com", undefined],
  ] as const)("%s blocked: %s", (addr, blocked) => {
    expect(isBlockedAddress(addr)).toBe(blocked);
  });
});
