// trustProxy: which peers may say who the client is, and who the client then is.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddress, plainAddress, ProxyTrust } from "enrollgate/gate";
import { compileFiles } from "../helpers/policies.js";

/** The two fields clientAddress() reads, as Node fills them for a real request. */
const request = (peer: string, ...forwardedFor: string[]) =>
  ({
    socket: { remoteAddress: peer },
    rawHeaders: forwardedFor.flatMap((v) => ["X-Forwarded-For", v]),
  }) as unknown as IncomingMessage;

describe("ProxyTrust", () => {
  it.each([
    [["127.0.0.1"], "127.0.0.1", true],
    [["127.0.0.1"], "127.0.0.2", false],
    [["127.0.0.1"], "::ffff:127.0.0.1", true],
    [["10.0.0.0/8"], "10.200.3.4", true],
    [["10.0.0.0/8"], "11.0.0.1", false],
    [["10.0.0.0/8, 192.168.1.1"], "192.168.1.1", true],
    [["fd00::/8"], "fd12::1", true],
    [["fd00::/8"], "fe80::1", false],
    [["::1"], "::1", true],
    [["loopback"], "127.9.9.9", true],
    [["loopback"], "::1", true],
    [["linklocal"], "fe80::1%eth0", true],
    [["uniquelocal"], "172.20.0.1", true],
    [["uniquelocal"], "172.32.0.1", false],
    [["Loopback"], "127.0.0.1", true],
    [[], "127.0.0.1", false],
    [["127.0.0.1"], "not an address", false],
  ])("%j trusts %s: %s", (entries, address, trusted) => {
    expect(ProxyTrust.parse(entries).trusts(address)).toBe(trusted);
  });

  it.each(["10.0.0.0/33", "10.0.0.300", "fd00::/129", "10.0.0.0/8/8", "localhost", "10.0.0.0/x", "*"])(
    "refuses %j with a message naming it",
    (entry) => {
      expect(() => ProxyTrust.parse([entry])).toThrow(
        `trust proxy entry ${JSON.stringify(entry)} is not an IP address`,
      );
    },
  );
});

describe("clientAddress", () => {
  const trust = ProxyTrust.parse(["10.0.0.0/8"]);

  it("is the peer when the peer is not trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddress(request("203.0.113.1", "198.51.100.7"), trust)).toEqual({
      address: "203.0.113.1",
      peer: "203.0.113.1",
      viaTrustedProxy: false,
    });
  });

  it("walks X-Forwarded-For from the right past trusted proxies, over repeated header lines", () => {
    expect(clientAddress(request("10.0.0.1", "198.51.100.7, 203.0.113.9", "10.1.1.1"), trust)).toEqual({
      address: "203.0.113.9",
      peer: "10.0.0.1",
      viaTrustedProxy: true,
    });
  });

  it("is the leftmost address when every hop is trusted, and the peer when there are none", () => {
    expect(clientAddress(request("10.0.0.1", "10.0.0.9, 10.0.0.8"), trust).address).toBe("10.0.0.9");
    expect(clientAddress(request("10.0.0.1"), trust).address).toBe("10.0.0.1");
  });

  it("reports IPv4-mapped peers as IPv4", () => {
    expect(plainAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(clientAddress(request("::ffff:10.0.0.1", "::ffff:198.51.100.7"), trust)).toMatchObject({
      address: "198.51.100.7",
      peer: "10.0.0.1",
    });
  });
});

describe("trustProxy and bodyTimeout in enrollgate.yaml", () => {
  it("are read, with their defaults when absent", () => {
    expect(
      compileFiles({
        "enrollgate.yaml": "trustProxy: [loopback, 10.0.0.0/8, fd00::/8]\nbodyTimeout: 2500\n",
        "rules.yaml": "rules: []\n",
      }).set?.settings,
    ).toMatchObject({ trustProxy: ["loopback", "10.0.0.0/8", "fd00::/8"], bodyTimeout: 2500 });
    expect(compileFiles({ "rules.yaml": "rules: []\n" }).set?.settings).toMatchObject({
      trustProxy: [],
      bodyTimeout: 10_000,
    });
  });

  it.each([
    ["trustProxy: [10.0.0.300]\n", 14, '"10.0.0.300" is not allowed here'],
    ["trustProxy: [loopback, localhost]\n", 24, '"localhost" is not allowed here'],
    ["trustProxy: 10.0.0.0/8\n", 13, "must be a list"],
    ["bodyTimeout: 10\n", 14, "100"],
  ])("%j is an error at its line and column", (text, column, message) => {
    const result = compileFiles({ "enrollgate.yaml": text, "rules.yaml": "rules: []\n" });
    expect(result.set).toBeNull();
    expect(result.findings).toContainEqual(
      expect.objectContaining({
        file: "enrollgate.yaml",
        line: 1,
        column,
        severity: "error",
        message: expect.stringContaining(message),
      }),
    );
  });
});
