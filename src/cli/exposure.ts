// What `check` says about actively exploited vulnerabilities (SOFA): the ones
// the device is exposed to at the version it runs, the release that fixes
// each, and whether the update the gate asks for fixes it.
import { platformOfProduct } from "../apple/platform.js";
import { formatOsVersion, tryParseOsVersion, withSupplementalExtra, type OsVersion } from "../apple/version.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import type { Decision, DeviceFacts } from "../policy/model.js";

export interface OpenVulnerability {
  readonly cve: string;
  readonly fixedIn: string;
  readonly inKEV: boolean;
  /** Whether the version the 403 names fixes it; null when there is no 403 (or it names no version). */
  readonly fixedByTarget: boolean | null;
}

export interface DeviceExposure {
  /** The vulnerability data, e.g. "SOFA (2026-08-22)". */
  readonly source: string;
  /** Null when the data does not know the device (its platform, model or version). */
  readonly open: ReadonlyArray<OpenVulnerability> | null;
  readonly target: string | null;
}

function versionOf(facts: DeviceFacts): OsVersion | null {
  if (facts.osVersion === undefined) return null;
  try {
    return withSupplementalExtra(facts.osVersion, facts.supplementalExtra);
  } catch {
    return tryParseOsVersion(facts.osVersion);
  }
}

/** The device's exposure; null when the set has no vulnerability data (no --sofa). */
export function deviceExposure(set: CompiledPolicySet, facts: DeviceFacts, decision: Decision): DeviceExposure | null {
  const source = set.vulnerabilities ?? null;
  if (source === null) return null;
  const platform = platformOfProduct(facts.product);
  const version = versionOf(facts);
  const target = decision.body?.details.OSVersion ?? null;
  if (platform === null || version === null) return { source: source.name, open: null, target };
  const device = { platform, product: facts.product, deviceId: facts.deviceId ?? null };
  const open = source.exposure(device, version);
  const targetVersion = tryParseOsVersion(target);
  const atTarget = targetVersion === null ? null : new Set(source.exposure(device, targetVersion)?.map((o) => o.cve));
  return {
    source: source.name,
    target,
    open:
      open?.map((o) => ({
        cve: o.cve,
        fixedIn: o.fixedIn,
        inKEV: o.inKEV,
        fixedByTarget: atTarget === null ? null : !atTarget.has(o.cve),
      })) ?? null,
  };
}

/** The lines `check` adds with --sofa. */
export function explainExposure(exposure: DeviceExposure, facts: DeviceFacts): string {
  const platform = platformOfProduct(facts.product);
  const version = versionOf(facts);
  const on = `${facts.product}${version !== null ? ` on ${platform ?? ""} ${formatOsVersion(version)}` : ""}`;
  if (exposure.open === null)
    return `\nActively exploited vulnerabilities: unknown; ${exposure.source} does not list ${version === null ? facts.product : on}\n`;
  if (exposure.open.length === 0)
    return `\nActively exploited vulnerabilities: none open on ${on}, per ${exposure.source}\n`;
  const width = Math.max(...exposure.open.map((o) => o.cve.length));
  const fixWidth = Math.max(...exposure.open.map((o) => o.fixedIn.length));
  const lines = [
    "",
    `Actively exploited vulnerabilities open on ${on}, per ${exposure.source}:`,
    ...exposure.open.map((o) =>
      [
        `  ${o.cve.padEnd(width)}`,
        `fixed in ${o.fixedIn.padEnd(fixWidth)}`,
        o.inKEV ? "CISA KEV" : "        ",
        o.fixedByTarget === null
          ? ""
          : o.fixedByTarget
            ? `the update to ${exposure.target ?? ""} fixes it`
            : `still open after the update to ${exposure.target ?? ""}`,
      ]
        .join("  ")
        .trimEnd(),
    ),
  ];
  return `${lines.join("\n")}\n`;
}
