// What the gate remembers between requests, all of it bounded LRUs:
//  - the outcome per MachineInfo bytes: identical bytes always read the same
//    way under the same trust anchors and mode, so a device retrying, or the
//    GET then POST of one enrollment, is verified once;
//  - per certificate: its parsed fields (by the SHA-256 of its DER), and the
//    certificate-to-issuer-key signature checks that passed, so the Device
//    CA and root links of Apple's chain cost nothing per device.
import { hash } from "node:crypto";
import type { VerifierCaches } from "../apple/cms-verify.js";
import type { Certificate } from "../apple/x509.js";
import type { MachineInfoResult } from "./ingest.js";

/**
 * A map that forgets its least recently used entries past `capacity` entries
 * or past `maxWeight` in total (each entry weighs what its setter says; one
 * heavier than `maxWeight` is not kept at all).
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly weight: number }>();
  private total = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxWeight = Number.POSITIVE_INFINITY,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit?.value;
  }

  set(key: string, value: V, weight = 1): void {
    this.remove(key);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    while (this.entries.size > this.capacity || this.total > this.maxWeight) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
  }

  private remove(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.total -= old.weight;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The weight of everything kept. */
  get weight(): number {
    return this.total;
  }
}

/** What one cached outcome is taken to weigh besides its message's bytes (keys, objects, facts). */
const ENTRY_OVERHEAD = 1024;

/**
 * Outcomes per MachineInfo bytes. Bounded in entries and in bytes: an
 * outcome can hold what the message held (under `verify: off` the whole
 * plist, a sender's to fill up to the body limit), so thousands of distinct
 * large messages must not become hundreds of megabytes.
 */
export class VerificationCache {
  private readonly entries: LruCache<MachineInfoResult>;

  constructor(capacity = 4096, maxBytes = 16 * 1024 * 1024) {
    this.entries = new LruCache(capacity, maxBytes);
  }

  key(der: Uint8Array, mode: string, trustGeneration: number): string {
    // crypto.hash: one call, no Hash object (it is on every request).
    return `${mode}:${trustGeneration}:${hash("sha256", der, "base64")}`;
  }

  get(key: string): MachineInfoResult | undefined {
    return this.entries.get(key);
  }

  /** `bytes`: the size of the MachineInfo the outcome was read from. */
  set(key: string, value: MachineInfoResult, bytes: number): void {
    this.entries.set(key, value, bytes + ENTRY_OVERHEAD);
  }

  get size(): number {
    return this.entries.size;
  }

  /** What the kept outcomes are taken to weigh, in bytes. */
  get bytes(): number {
    return this.entries.weight;
  }
}

/**
 * Parsed certificates and verified certificate links. Both are keyed by
 * content hashes, so they hold across policy reloads and anchor changes: a
 * link says only that one certificate's signature verifies with one key.
 */
export class CertificateCache implements VerifierCaches {
  readonly certificates: LruCache<Certificate>;
  readonly links: { has(key: string): boolean; add(key: string): void };
  private readonly verified: LruCache<true>;

  constructor(options: { certificates?: number; links?: number } = {}) {
    this.certificates = new LruCache(options.certificates ?? 1024);
    this.verified = new LruCache(options.links ?? 4096);
    this.links = {
      has: (key) => this.verified.get(key) !== undefined,
      add: (key) => this.verified.set(key, true),
    };
  }

  get linkCount(): number {
    return this.verified.size;
  }
}
