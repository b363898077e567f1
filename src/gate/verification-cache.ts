// Identical MachineInfo bytes always read the same way under the same trust
// anchors and mode: a device retrying, or the GET then POST of one
// enrollment, is verified once. Bounded LRU keyed by the bytes' SHA-256.
import { hash } from "node:crypto";
import type { MachineInfoResult } from "../apple/machine-info.js";

export class VerificationCache {
  private readonly entries = new Map<string, MachineInfoResult>();

  constructor(private readonly capacity = 4096) {}

  key(der: Uint8Array, mode: string, trustGeneration: number): string {
    // crypto.hash: one call, no Hash object (it is on every request).
    return `${mode}:${trustGeneration}:${hash("sha256", der, "base64")}`;
  }

  get(key: string): MachineInfoResult | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: MachineInfoResult): void {
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
