// Model globs: `*` matches any run of characters, `?` exactly one; everything
// else is literal and case-sensitive ("iPhone15,*", "J41?sAP", "Mac-*").
import type { PolicyPlatform } from "./model.js";

export interface ModelGlob {
  readonly pattern: string;
  /** No wildcard: matched by a Map lookup rather than a RegExp. */
  readonly exact: boolean;
  /** The characters before the first wildcard. */
  readonly prefix: string;
  /** Literal characters: more means more specific. */
  readonly literals: number;
  readonly regex: RegExp;
}

export function compileGlob(pattern: string): ModelGlob {
  const firstWildcard = pattern.search(/[*?]/);
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\,-]/g, "\\$&")))
    .join("");
  return {
    pattern,
    exact: firstWildcard === -1,
    prefix: firstWildcard === -1 ? pattern : pattern.slice(0, firstWildcard),
    literals: pattern.replace(/[*?]/g, "").length,
    regex: new RegExp(`^${source}$`),
  };
}

/** How specific a matching pattern is: an exact model beats any glob, longer literals beat shorter. */
export function specificity(glob: ModelGlob | null): number {
  if (glob === null) return 0;
  return (glob.exact ? 1000 : 0) + glob.literals;
}

// What PRODUCT and SOFTWARE_UPDATE_DEVICE_ID look like on each platform. iPhones,
// iPads and Vision Pros report their product type as device id; Macs report a
// board id (J414sAP, Mac-27AD2F918AE68F61, VMA2MACOSAP, X86LEGACYAP).
const PLATFORM_PREFIXES: Record<PolicyPlatform, ReadonlyArray<string>> = {
  iOS: ["iPhone", "iPod"],
  iPadOS: ["iPad"],
  macOS: ["Mac", "iMac", "VirtualMac", "Mac-", "J", "VMA", "VMM", "X86"],
  visionOS: ["RealityDevice"],
};
const OTHER_PRODUCTS = ["iPhone", "iPod", "iPad", "RealityDevice", "AppleTV", "Watch", "AudioAccessory"];

function compatible(prefix: string, namespace: string): boolean {
  return prefix.startsWith(namespace) || namespace.startsWith(prefix);
}

/** Whether a glob could match some device of the platform; false for an iOS rule with "Mac*". */
export function canMatchPlatform(glob: ModelGlob, platform: PolicyPlatform): boolean {
  if (glob.prefix === "") return true;
  if (PLATFORM_PREFIXES[platform].some((ns) => compatible(glob.prefix, ns))) return true;
  // Mac board ids follow no single prefix; anything not another platform's product may be one.
  if (platform === "macOS") {
    return !OTHER_PRODUCTS.some((ns) => glob.prefix.startsWith(ns)) && /^[A-Z]/.test(glob.prefix);
  }
  return false;
}
