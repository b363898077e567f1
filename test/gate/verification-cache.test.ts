// The verification cache: the same MachineInfo bytes, under the same mode and
// trust anchors, are read once; anything else is read afresh; it never grows
// past its capacity.
import { describe, expect, it } from "vitest";
import { CertificateCache, LruCache, type MachineInfoResult, VerificationCache } from "enrollgate/gate";

const result = (serial: string): MachineInfoResult => ({ ok: false, status: 400, code: "bad-cms", message: serial });

describe("VerificationCache", () => {
  it("keys by the bytes, the mode and the trust anchors' generation", () => {
    const cache = new VerificationCache();
    const a = new Uint8Array([1, 2, 3]);
    const key = cache.key(a, "enforce", 1);
    expect(cache.key(Uint8Array.from(a), "enforce", 1)).toBe(key);
    expect(cache.key(new Uint8Array([1, 2, 4]), "enforce", 1)).not.toBe(key);
    expect(cache.key(a, "audit", 1)).not.toBe(key);
    expect(cache.key(a, "enforce", 2)).not.toBe(key); // new trust anchors: verify again
  });

  it("evicts the least recently used entry past its capacity", () => {
    const cache = new VerificationCache(2);
    cache.set("a", result("a"), 3);
    cache.set("b", result("b"), 3);
    expect(cache.get("a")).toEqual(result("a")); // a is now the most recent
    cache.set("c", result("c"), 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toEqual(result("a"));
    expect(cache.get("c")).toEqual(result("c"));
    expect(cache.size).toBe(2);
  });

  it("stays at its capacity under a flood of distinct messages", () => {
    const cache = new VerificationCache(100);
    for (let i = 0; i < 10_000; i++)
      cache.set(cache.key(new Uint8Array([i & 0xff, i >> 8]), "enforce", 0), result(String(i)), 2);
    expect(cache.size).toBe(100);
  });

  it("holds at most its byte budget: large messages push older outcomes out, and one larger than the budget is not kept", () => {
    const cache = new VerificationCache(4096, 1024 * 1024);
    for (let i = 0; i < 1000; i++) cache.set(`m${i}`, result(String(i)), 60_000);
    expect(cache.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(cache.size).toBe(Math.floor((1024 * 1024) / (60_000 + 1024)));
    expect(cache.get("m999")).toEqual(result("999"));
    expect(cache.get("m0")).toBeUndefined();
    cache.set("huge", result("huge"), 2 * 1024 * 1024);
    expect(cache.get("huge")).toBeUndefined();
    expect(cache.get("m999")).toEqual(result("999"));
  });
});

describe("CertificateCache", () => {
  it("keeps parsed certificates and verified links within their bounds, the most recently used last to go", () => {
    const cache = new CertificateCache({ certificates: 2, links: 3 });
    for (let i = 0; i < 1000; i++) cache.links.add(`child-${i}>key`);
    expect(cache.linkCount).toBe(3);
    expect(cache.links.has("child-999>key")).toBe(true);
    expect(cache.links.has("child-0>key")).toBe(false);
    const lru = new LruCache<number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.get("a");
    lru.set("c", 3);
    expect([lru.get("a"), lru.get("b"), lru.get("c"), lru.size]).toEqual([1, undefined, 3, 2]);
  });
});
