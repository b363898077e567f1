// Validators for documents devices send, compiled once per platform and OS
// band (see bands.ts) rather than once per device: the cache is bounded by
// the schema file, not by whatever OS_VERSION strings arrive.
import { schemaPlatform, type Platform } from "../platform.js";
import { compareOsVersions, formatOsVersion, type OsVersion } from "../version.js";
import type { AppleSchemaDocument, KeyList } from "./document.js";
import type { Direction } from "./json-schema.js";
import { versionBoundaries } from "./bands.js";
import { compileAppleSchema, type CompiledAppleSchema } from "./validator.js";

export class BandedSchema {
  private readonly cache = new Map<string, CompiledAppleSchema>();
  private readonly bounds = new Map<Platform, OsVersion[]>();

  constructor(
    readonly doc: AppleSchemaDocument,
    private readonly direction: Direction,
    private readonly keys?: KeyList,
  ) {}

  private bandStart(platform: Platform, os: OsVersion): OsVersion {
    let list = this.bounds.get(platform);
    if (list === undefined) {
      list = versionBoundaries(this.doc, platform, this.keys);
      this.bounds.set(platform, list);
    }
    let start = list[0] as OsVersion;
    for (const b of list) if (compareOsVersions(os, b) >= 0) start = b;
    return start;
  }

  /** The compiled schema for a platform at an OS version; either may be unknown. */
  at(platform: Platform | null, os: OsVersion | null): CompiledAppleSchema {
    const start = platform !== null && os !== null ? this.bandStart(platform, os) : null;
    const key = `${platform === null ? "*" : schemaPlatform(platform) + (platform === "iPadOS" ? "/iPad" : "")}|${start === null ? "*" : formatOsVersion(start)}`;
    let compiled = this.cache.get(key);
    if (compiled === undefined) {
      compiled = compileAppleSchema(this.doc, {
        direction: this.direction,
        ...(this.keys !== undefined ? { keys: this.keys } : {}),
        ...(platform !== null ? { platform } : {}),
        ...(platform !== null && start !== null ? { os: formatOsVersion(start) } : {}),
      });
      this.cache.set(key, compiled);
    }
    return compiled;
  }
}
