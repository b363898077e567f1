// Where a schema changes along one platform's versions: the boundaries
// (every introduced/removed/deprecated version the file names for the
// platform) split the versions into bands whose compiled schemas are equal
// within each band. Callers compile once per band instead of once per device.
import { schemaPlatform, type Platform } from "../platform.js";
import { compareOsVersions, parseOsVersion, type OsVersion } from "../version.js";
import { keyList, type AppleKey, type AppleSchemaDocument, type KeyList, type SupportedOS } from "./document.js";

function collect(
  supported: SupportedOS | undefined,
  platform: ReturnType<typeof schemaPlatform>,
  into: Map<string, OsVersion>,
): void {
  const entry = supported?.[platform];
  if (entry === undefined) return;
  for (const v of [entry.introduced, entry.removed, entry.deprecated]) {
    if (v === undefined || v === "n/a" || v === "all" || into.has(v)) continue;
    into.set(v, parseOsVersion(v));
  }
}

/** The versions at which a document's schema for a platform may change, ascending. */
export function versionBoundaries(doc: AppleSchemaDocument, platform: Platform, keys?: KeyList): OsVersion[] {
  const p = schemaPlatform(platform);
  const found = new Map<string, OsVersion>();
  collect(doc.payload?.supportedOS, p, found);
  const seen = new Set<ReadonlyArray<AppleKey>>();
  const stack: ReadonlyArray<AppleKey>[] = [];
  const root = keyList(doc, keys);
  if (root !== undefined) stack.push(root);
  while (stack.length > 0) {
    const list = stack.pop() as ReadonlyArray<AppleKey>;
    if (seen.has(list)) continue;
    seen.add(list);
    for (const key of list) {
      collect(key.supportedOS, p, found);
      if (key.subkeys !== undefined) stack.push(key.subkeys);
    }
  }
  const zero: OsVersion = { major: 0, minor: 0, patch: 0, extra: null };
  return [zero, ...found.values()]
    .sort(compareOsVersions)
    .filter((v, i, all) => i === 0 || compareOsVersions(v, all[i - 1] as OsVersion) !== 0);
}

/** Whether a converted schema has a property at a path of keys (following local $refs). */
export function schemaHasKey(schema: { [keyword: string]: unknown }, path: ReadonlyArray<string>): boolean {
  const defs = (schema.$defs ?? {}) as Record<string, { [keyword: string]: unknown }>;
  let here: { [keyword: string]: unknown } | undefined = schema;
  for (const key of path) {
    while (here !== undefined && typeof here.$ref === "string" && here.properties === undefined) {
      here = defs[decodeURIComponent(here.$ref.replace("#/$defs/", ""))];
    }
    const props = here?.properties as Record<string, { [keyword: string]: unknown }> | undefined;
    here = props?.[key];
    if (here === undefined) return false;
  }
  return true;
}
