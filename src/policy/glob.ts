// Model globs: `*` matches any run of characters, `?` exactly one; everything
// else is literal and case-sensitive ("iPhone15,*", "J41?sAP", "Mac-*").
// Matched without regular expressions (see wildcardMatch).
import type { PolicyPlatform } from "./model.js";

export interface ModelGlob {
  readonly pattern: string;
  /** No wildcard: matched by a Map lookup rather than a pattern match. */
  readonly exact: boolean;
  /** The characters before the first wildcard. */
  readonly prefix: string;
  /** Literal characters: more means more specific. */
  readonly literals: number;
  /** Whether a model matches: `*` any run of characters, `?` exactly one. */
  test(model: string): boolean;
  /** The same, ignoring letter case (to tell a near miss from no match). */
  testIgnoringCase(model: string): boolean;
}

/**
 * Wildcard matching that never backtracks further than the last `*`: time at
 * most pattern length × model length. A regular expression built from
 * `*a*a*a*b` backtracks exponentially on a long model, and the model comes
 * from the device (and the pattern from a policy file): one request could
 * hold the gate for minutes.
 */
function wildcardMatch(pattern: string, model: string): boolean {
  let p = 0;
  let m = 0;
  let star = -1;
  let resume = 0;
  while (m < model.length) {
    const c = pattern[p];
    if (c === "*") {
      star = p++;
      resume = m;
    } else if (c !== undefined && (c === "?" || c === model[m])) {
      p++;
      m++;
    } else if (star !== -1) {
      p = star + 1;
      m = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

export function compileGlob(pattern: string): ModelGlob {
  const firstWildcard = pattern.search(/[*?]/);
  const exact = firstWildcard === -1;
  // Runs of * match what one does.
  const normal = pattern.replace(/\*+/g, "*");
  const lower = normal.toLowerCase();
  return {
    pattern,
    exact,
    prefix: exact ? pattern : pattern.slice(0, firstWildcard),
    literals: pattern.replace(/[*?]/g, "").length,
    test: exact ? (model) => model === pattern : (model) => wildcardMatch(normal, model),
    testIgnoringCase: (model) => wildcardMatch(lower, model.toLowerCase()),
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

/**
 * What a glob can name on a platform: a PRODUCT (a model identifier such as
 * iPhone17,3 or Mac14,13), a Mac's board id (SOFTWARE_UPDATE_DEVICE_ID, such
 * as J475cAP or Mac-27AD2F918AE68F61), or both. iPhones, iPads and Vision Pros
 * report their product type as device id, so their globs name products.
 */
export function globNames(
  glob: ModelGlob,
  platform: PolicyPlatform,
): { readonly product: boolean; readonly boardId: boolean } {
  if (platform !== "macOS") return { product: true, boardId: false };
  const prefix = glob.prefix;
  const product =
    prefix === "" ||
    (compatible(prefix, "Mac") && !prefix.startsWith("Mac-")) ||
    compatible(prefix, "iMac") ||
    compatible(prefix, "VirtualMac");
  // Board ids never hold a comma, and start with a capital letter.
  const boardId = !glob.pattern.includes(",") && (prefix === "" || /^[A-Z]/.test(prefix));
  return { product, boardId };
}
