// Apple platforms, as policies name them and as Apple's schema files name them.

/** The platforms a policy or a device can be on. */
export const PLATFORMS = ["iOS", "iPadOS", "macOS", "visionOS", "tvOS", "watchOS"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** The platforms Apple's schema files list under `supportedOS` (iPadOS is iOS there). */
export const SCHEMA_PLATFORMS = ["iOS", "macOS", "tvOS", "visionOS", "watchOS"] as const;
export type SchemaPlatform = (typeof SCHEMA_PLATFORMS)[number];

export function isPlatform(value: unknown): value is Platform {
  return typeof value === "string" && (PLATFORMS as readonly string[]).includes(value);
}

/** The `supportedOS` entry that describes a platform. */
export function schemaPlatform(platform: Platform): SchemaPlatform {
  return platform === "iPadOS" ? "iOS" : platform;
}

// DESIGN step 1: the platform follows from PRODUCT's prefix. Order matters:
// "MacBook"/"Macmini"/"MacPro" all start with "Mac".
const PRODUCT_PREFIXES: ReadonlyArray<readonly [string, Platform]> = [
  ["iPhone", "iOS"],
  ["iPod", "iOS"],
  ["iPad", "iPadOS"],
  ["Mac", "macOS"],
  ["iMac", "macOS"],
  ["VirtualMac", "macOS"],
  ["RealityDevice", "visionOS"],
  ["AppleTV", "tvOS"],
  ["Watch", "watchOS"],
];

/** The platform a PRODUCT ("iPhone15,2", "MacBookPro18,3", "VirtualMac2,1") runs, or null. */
export function platformOfProduct(product: string): Platform | null {
  for (const [prefix, platform] of PRODUCT_PREFIXES) {
    if (product.startsWith(prefix)) return platform;
  }
  return null;
}
