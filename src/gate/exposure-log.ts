// The decision log's `exploited`: the ids of the actively exploited CVEs a
// device runs exposed to, per the policy set's vulnerability data (SOFA).
// On every decision, so it is a lookup in what compile time built, and the
// id lists are made once per distinct answer.
import { platformOfProduct } from "../apple/platform.js";
import { tryParseOsVersion, withSupplementalExtra, type OsVersion } from "../apple/version.js";
import type { DeviceFacts } from "../policy/model.js";
import type { ExploitedVulnerability, VulnerabilitySource } from "../policy/vulnerabilities.js";

const ids = new WeakMap<ReadonlyArray<ExploitedVulnerability>, ReadonlyArray<string>>();

function versionOf(facts: DeviceFacts): OsVersion | null {
  if (typeof facts.osVersion !== "string") return null;
  try {
    return withSupplementalExtra(facts.osVersion, facts.supplementalExtra);
  } catch {
    return tryParseOsVersion(facts.osVersion);
  }
}

/** The CVE ids; null when the data does not know the device (no MachineInfo, an unknown model or version). */
export function exploitedCves(source: VulnerabilitySource, facts: DeviceFacts | null): ReadonlyArray<string> | null {
  if (facts === null) return null;
  const platform = typeof facts.product === "string" ? platformOfProduct(facts.product) : null;
  const version = versionOf(facts);
  if (platform === null || version === null) return null;
  const deviceId = typeof facts.deviceId === "string" && facts.deviceId !== "" ? facts.deviceId : null;
  const open = source.exposure({ platform, product: facts.product, deviceId }, version);
  if (open === null) return null;
  let list = ids.get(open);
  if (list === undefined) {
    list = Object.freeze(open.map((o) => o.cve));
    ids.set(open, list);
  }
  return list;
}
