// What the gate remembers between requests, all of it bounded LRUs:
//  - the outcome per MachineInfo bytes: identical bytes always read the same
//    way under the same trust anchors and mode, so a device retrying, or the
//    GET then POST of one enrollment, is verified once;
//  - per certificate: its parsed fields (by the SHA-256 of its DER), and the
//    certificate-to-issuer-key signature checks that passed, so the Device
//    CA and root links of Apple's chain cost nothing per device.
import { hash } from "node:crypto";
import type { MachineInfoResult } from "../apple/machine-info.js";
import type { VerifierCaches } from "../apple/cms-verify.js";
import type { Certificate } from "../apple/x509.js";

/** A map that forgets its least recently used entry past `capacity`. */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

export class VerificationCache {
  private readonly entries: LruCache<MachineInfoResult>;

  constructor(capacity = 4096) {
    this.entries = new LruCache(capacity);
  }

  key(der: Uint8Array, mode: string, trustGeneration: number): string {
    // crypto.hash: one call, no Hash object (it is on every request).
    return `${mode}:${trustGeneration}:${hash("sha256", der, "base64")}`;
  }

  get(key: string): MachineInfoResult | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: MachineInfoResult): void {
    this.entries.set(key, value);
  }

  get size(): number {
    return this.entries.size;
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
