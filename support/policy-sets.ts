// Large policy sets for benchmarks and tests: N rules spread over F files,
// most matching one exact model, some matching a glob, some every model of a
// platform, with devices below and above their rules.
import type { DeviceFacts } from "enrollgate";

export interface GeneratedPolicySet {
  /** File name → YAML text. */
  readonly files: Record<string, string>;
  /** Devices below a rule: decide() blocks them. */
  readonly blocked: ReadonlyArray<DeviceFacts>;
  /** Devices meeting their rule: decide() allows them. */
  readonly allowed: ReadonlyArray<DeviceFacts>;
}

export interface GenerateOptions {
  readonly rules: number;
  readonly files?: number;
  /** One rule in `globEvery` matches a glob instead of one exact model (default 10). */
  readonly globEvery?: number;
}

// Product families far from real ones, so that exact models never collide with globs.
const product = (i: number) => `iPhone${100 + Math.floor(i / 9)},${(i % 9) + 1}`;
const minimum = (i: number) => `26.${i % 6}.${(i % 3) + 1}`;

function ruleYaml(i: number, glob: boolean): string {
  const models = glob ? `"iPhone${100 + Math.floor(i / 9)},*"` : `"${product(i)}"`;
  return `  - { id: r${i}, platform: iOS, models: [${models}], minimum: "${minimum(i)}", message: "Update iOS to continue." }\n`;
}

export function generatePolicySet(options: GenerateOptions): GeneratedPolicySet {
  const fileCount = options.files ?? 1;
  const globEvery = options.globEvery ?? 10;
  const texts: string[] = Array.from({ length: fileCount }, () => "rules:\n");
  const blocked: DeviceFacts[] = [];
  const allowed: DeviceFacts[] = [];
  for (let i = 0; i < options.rules; i++) {
    // A glob rule overlaps the exact rules of its family, as real policies do.
    const glob = i % globEvery === globEvery - 1;
    texts[i % fileCount] += ruleYaml(i, glob);
    if (i % 97 === 0 && !glob) {
      const min = minimum(i).split(".");
      blocked.push({ product: product(i), osVersion: `26.${min[1] ?? "0"}`, build: "23A1", canRequestUpdate: true });
      allowed.push({ product: product(i), osVersion: "27.0", build: "24A1", canRequestUpdate: true });
    }
  }
  // Whole-platform rules give every device more than one candidate.
  texts[0] += '  - { id: all-ipads, platform: iPadOS, minimum: "17.0" }\n';
  const files: Record<string, string> = {};
  texts.forEach((t, i) => (files[`rules-${String(i).padStart(3, "0")}.yaml`] = t));
  return { files, blocked, allowed };
}
