// decide(set, facts, now): DESIGN.md's six steps. Pure and total: every input
// gives a Decision, never an exception.
import { compareBuilds, tryParseBuild, type Build } from "../apple/build.js";
import { platformOfProduct, type Platform } from "../apple/platform.js";
import { buildBody, type ErrorBand } from "../apple/software-update-required.js";
import {
  baseVersion,
  compareOsVersions,
  formatOsVersion,
  tryParseOsVersion,
  withSupplementalExtra,
  type OsVersion,
} from "../apple/version.js";
import type { DeviceIdentity } from "./availability.js";
import { updateRequest, type CompiledPolicySet, type CompiledRule } from "./compile.js";
import { specificity, type ModelGlob } from "./glob.js";
import type { Decision, DeviceFacts, Reason, RuleConsideration, SoftwareUpdateRequiredBody } from "./model.js";
import { byStrictness } from "./strictness.js";

/**
 * A decision whose explanation (summary and rules considered) is written only
 * when read: deciding is on every request's path, explaining is for people.
 * Both still serialize as plain fields.
 */
class ExplainedDecision implements Decision {
  #explain: (() => { summary: string; considered: RuleConsideration[] }) | null;
  #summary = "";
  #considered: ReadonlyArray<RuleConsideration> = [];

  constructor(
    readonly decision: "allow" | "block",
    readonly reason: Reason,
    readonly rule: string | null,
    readonly body: SoftwareUpdateRequiredBody | null,
    readonly platform: Platform | null,
    explain: () => { summary: string; considered: RuleConsideration[] },
  ) {
    this.#explain = explain;
  }

  #resolve(): void {
    if (this.#explain === null) return;
    const e = this.#explain();
    this.#summary = e.summary;
    this.#considered = Object.freeze(e.considered);
    this.#explain = null;
  }

  get summary(): string {
    this.#resolve();
    return this.#summary;
  }

  get considered(): ReadonlyArray<RuleConsideration> {
    this.#resolve();
    return this.#considered;
  }

  toJSON(): Decision {
    return {
      decision: this.decision,
      reason: this.reason,
      rule: this.rule,
      body: this.body,
      platform: this.platform,
      summary: this.summary,
      considered: this.considered,
    };
  }
}

function allow(
  reason: Reason,
  platform: Platform | null,
  summary: () => string,
  considered: () => RuleConsideration[] = () => [],
  rule: string | null = null,
  body: SoftwareUpdateRequiredBody | null = null,
): Decision {
  return new ExplainedDecision("allow", reason, rule, body, platform, () => ({
    summary: summary(),
    considered: considered(),
  }));
}

/** OS_VERSION with SUPPLEMENTAL_OS_VERSION_EXTRA; a malformed extra is ignored rather than fatal. */
function deviceVersion(facts: DeviceFacts): OsVersion | null {
  if (facts.osVersion === undefined) return null;
  try {
    return withSupplementalExtra(facts.osVersion, facts.supplementalExtra);
  } catch {
    return tryParseOsVersion(facts.osVersion);
  }
}

/** SUPPLEMENTAL_BUILD_VERSION, else VERSION. */
function deviceBuild(facts: DeviceFacts): Build | null {
  return tryParseBuild(facts.supplementalBuild) ?? tryParseBuild(facts.build);
}

function isBelow(rule: CompiledRule, version: OsVersion, build: Build | null): boolean {
  const c = compareOsVersions(version, rule.minimum);
  if (c !== 0) return c < 0;
  if (rule.minimumBuild === null) return false;
  // At the minimum version with an unknown build, the device cannot show it has the build.
  return build === null || compareBuilds(build, rule.minimumBuild) < 0;
}

function describeDevice(facts: DeviceFacts, platform: Platform, version: OsVersion): string {
  return `${facts.product} on ${platform} ${formatOsVersion(version)}${facts.build !== undefined ? ` (${facts.supplementalBuild ?? facts.build})` : ""}`;
}

interface Hit {
  readonly rule: CompiledRule;
  readonly matched: ModelGlob | null;
}

function strictestFirst(a: Hit, b: Hit): number {
  return byStrictness(a.rule, specificity(a.matched), b.rule, specificity(b.matched));
}

type Resolution =
  | { readonly ok: true; readonly body: SoftwareUpdateRequiredBody | null; readonly target: string }
  | { readonly ok: false; readonly why: string };

/** The target version for a device and the body that asks for it, or why the target is unavailable. */
function resolveTarget(
  set: CompiledPolicySet,
  rule: CompiledRule,
  device: DeviceIdentity,
  version: OsVersion,
  band: ErrorBand | null,
  now: number,
): Resolution {
  let target: OsVersion;
  let targetText: string;
  if (rule.target.kind === "version") {
    target = rule.target.version;
    targetText = rule.target.text;
  } else {
    const major = rule.target.kind === "latest-in-major" ? rule.minimum.major : null;
    const latest = set.availability.latest(device, now, major);
    if (latest === null) {
      return {
        ok: false,
        why: `${set.availability.name} lists no ${rule.target.kind === "latest" ? "" : `${major ?? ""}.x `}version for ${device.deviceId ?? device.product}`,
      };
    }
    if (compareOsVersions(latest, rule.minimum) < 0) {
      return {
        ok: false,
        why: `the newest version available to ${device.deviceId ?? device.product} is ${formatOsVersion(latest)}, below the minimum ${rule.minimumText}`,
      };
    }
    target = latest;
    targetText = formatOsVersion(latest);
  }
  const answer = set.availability.check({
    device,
    version: target,
    now,
    adu: rule.adu,
    betaProgram: rule.betaProgram !== null,
  });
  if (!answer.available) return { ok: false, why: answer.reason };
  // A device already on the target version is blocked for its build: name the build to install.
  const sameVersion = compareOsVersions(version, target) === 0;
  const build = sameVersion ? (rule.targetBuild ?? rule.minimumBuildText) : rule.targetBuild;
  let body: SoftwareUpdateRequiredBody | null = null;
  const pre = rule.bodies?.find((b) => b.band === band);
  if (pre !== undefined) body = sameVersion ? pre.sameVersion : pre.normal;
  else if (band !== null) body = buildBody(updateRequest(rule, rule.token, targetText, build), band);
  const named = build === null ? targetText : `${targetText} (${build})`;
  return { ok: true, body, target: named };
}

/** What decide() decides for. */
export interface DecideOptions {
  /**
   * `enrollment` (default): a device in Setup Assistant, DESIGN's six steps.
   * `compliance`: an enrolled device judged against the same rules; step 2
   * (can it receive the 403?) does not apply, and there may be no body.
   */
  readonly purpose?: "enrollment" | "compliance";
}

/**
 * Decides for one device at one instant (epoch ms or a Date), by DESIGN.md's
 * six steps: allow (with the reason), or block with the 403 body to send.
 * Pure and total: every input gives a Decision, never an exception.
 *
 * @example
 * import { assertCompiled, compile, decide, loadPolicySet } from "enrollgate";
 *
 * const set = assertCompiled(compile(await loadPolicySet("policies"), { env: process.env }), "policies");
 * const d = decide(set, { product: "iPhone17,3", osVersion: "26.5", build: "23F77", canRequestUpdate: true }, new
 * Date());
 * // d.decision "block", d.reason "below-minimum", d.rule "iphone-floor",
 * // d.body { code: "com.apple.softwareupdate.required", details: { OSVersion: "26.6.1" }, ... }
 */
export function decide(
  set: CompiledPolicySet,
  facts: DeviceFacts,
  now: number | Date,
  options: DecideOptions = {},
): Decision {
  const enrollment = options.purpose !== "compliance";
  const at = typeof now === "number" ? now : now.getTime();
  if (typeof facts !== "object" || facts === null) return allow("unsupported-os", null, () => "no device facts");
  // Step 1: the platform from PRODUCT.
  const product = typeof facts.product === "string" ? facts.product : "";
  const platform = platformOfProduct(product);
  if (platform === null)
    return allow("unsupported-os", null, () => `PRODUCT "${product}" is not a known Apple platform`);

  // Step 2: can this device be asked to update at all?
  const version = deviceVersion(facts);
  if (version === null) {
    return allow(
      "unsupported-os",
      platform,
      () =>
        `${product} reports no usable OS_VERSION (${facts.osVersion === undefined ? "absent" : JSON.stringify(facts.osVersion)}); it predates com.apple.softwareupdate.required`,
    );
  }
  const band = set.errors.bandAt(platform, baseVersion(version));
  if (band === null && enrollment) {
    return allow(
      "unsupported-os",
      platform,
      () => `${platform} ${formatOsVersion(version)} cannot receive com.apple.softwareupdate.required`,
    );
  }
  if (facts.canRequestUpdate !== true && enrollment) {
    return allow(
      "cannot-request-update",
      platform,
      () => `${product} did not report MDM_CAN_REQUEST_SOFTWARE_UPDATE: true`,
    );
  }

  // Step 3: candidate rules. Only what decides is computed here; the words wait until read.
  const deviceId = typeof facts.deviceId === "string" && facts.deviceId !== "" ? facts.deviceId : null;
  const identifiers = deviceId === null || deviceId === product ? [product] : [product, deviceId];
  const build = deviceBuild(facts);
  const device: DeviceIdentity = {
    platform,
    product,
    deviceId,
    build: typeof facts.build === "string" ? facts.build : null,
  };
  const serial = facts.serial;
  const passed: Array<{ readonly hit: Hit; readonly outcome: "inactive" | "exempt" | "not-below" }> = [];
  const enforce: Hit[] = [];
  const audit: Hit[] = [];
  let exemptFrom: Hit | null = null;
  let candidates = 0;
  for (const hit of set.index.candidates(platform, identifiers)) {
    const r = hit.rule;
    if (r.activeFrom !== null && at < r.activeFrom) {
      passed.push({ hit, outcome: "inactive" });
      continue;
    }
    const below = isBelow(r, version, build);
    if (
      r.exempt !== null &&
      serial !== undefined &&
      r.exempt.serials.has(serial) &&
      (r.exempt.until === null || at < r.exempt.until)
    ) {
      passed.push({ hit, outcome: "exempt" });
      if (below && r.mode === "enforce" && (exemptFrom === null || strictestFirst(hit, exemptFrom) < 0))
        exemptFrom = hit;
      continue;
    }
    candidates++;
    if (!below) passed.push({ hit, outcome: "not-below" });
    else (r.mode === "enforce" ? enforce : audit).push(hit);
  }
  if (enforce.length > 1) enforce.sort(strictestFirst);
  if (audit.length > 1) audit.sort(strictestFirst);

  const who = () => describeDevice(facts, platform, version);
  const minimumOf = (r: CompiledRule) =>
    `${r.minimumText}${r.minimumBuildText !== null ? ` (${r.minimumBuildText})` : ""}`;
  const considered = (decided: Hit | null, includeEnforce: boolean) => (): RuleConsideration[] => [
    ...passed.map(({ hit, outcome }): RuleConsideration => {
      const r = hit.rule;
      const detail =
        outcome === "inactive"
          ? `inactive until ${new Date(r.activeFrom ?? 0).toISOString().slice(0, 10)}`
          : outcome === "exempt"
            ? `serial ${String(serial)} is exempt${r.exempt?.untilText !== null && r.exempt?.untilText !== undefined ? ` until ${r.exempt.untilText}` : ""}`
            : `meets minimum ${minimumOf(r)}`;
      return { rule: r.id, mode: r.mode, outcome, detail };
    }),
    ...(includeEnforce ? enforce : []).concat(audit).map((h): RuleConsideration => ({
      rule: h.rule.id,
      mode: h.rule.mode,
      outcome: h === decided ? "decided" : "below",
      detail: `below minimum ${minimumOf(h.rule)}`,
    })),
  ];

  // Step 5: the strictest enforce rule the device is below decides. A rule whose
  // target this device cannot install and that says `whenUnavailable: allow`
  // hands over to the next strictest: a floor for hardware that stops at an
  // older major must still apply when a newer floor cannot.
  if (enforce.length > 0) {
    const skipped: Array<{ hit: Hit; why: string }> = [];
    for (const hit of enforce) {
      const r = hit.rule;
      const resolved = resolveTarget(set, r, device, version, band, at);
      if (!resolved.ok && r.whenUnavailable === "allow") {
        skipped.push({ hit, why: resolved.why });
        continue;
      }
      const body = resolved.ok
        ? resolved.body
        : band === null
          ? null
          : buildBody(
              updateRequest(r, r.token, r.target.kind === "version" ? r.target.text : r.minimumText, r.targetBuild),
              band,
            );
      return new ExplainedDecision("block", "below-minimum", r.id, body, platform, () => {
        const passedOver =
          skipped.length > 0
            ? ` (${skipped.map((s) => `${s.hit.rule.id}: target not available, ${s.why}`).join("; ")})`
            : "";
        return {
          summary: resolved.ok
            ? `${who()} is below ${r.id}'s minimum ${r.minimumText}; asked to update to ${resolved.target}${passedOver}`
            : `${who()} is below ${r.id}'s minimum ${r.minimumText}; its target is not available to it (${resolved.why}) and whenUnavailable is block${passedOver}`,
          considered: considered(hit, true)(),
        };
      });
    }
    const first = skipped[0] as { hit: Hit; why: string };
    return allow(
      "target-unavailable",
      platform,
      () =>
        `${who()} is below ${skipped.map((s) => s.hit.rule.id).join(", ")}, but no target is available to it (${skipped.map((s) => `${s.hit.rule.id}: ${s.why}`).join("; ")}); allowed (whenUnavailable: allow)`,
      considered(first.hit, true),
      first.hit.rule.id,
    );
  }

  // Step 3's exemption: nothing else blocks, only an exemption kept the device from being blocked.
  if (exemptFrom !== null) {
    const r = exemptFrom.rule;
    return allow(
      "exempt",
      platform,
      () => `${who()} is below ${r.id}'s minimum ${r.minimumText} but its serial is exempt`,
      considered(null, false),
      r.id,
    );
  }

  // Step 6: audit rules report what they would have done.
  const auditing = audit[0];
  if (auditing !== undefined) {
    const r = auditing.rule;
    const resolved = resolveTarget(set, r, device, version, band, at);
    return allow(
      "audit-only",
      platform,
      () =>
        `${who()} is below ${r.id}'s minimum ${r.minimumText}; audit mode: allowed${resolved.ok ? `, would have been asked to update to ${resolved.target}` : ` (its target is not available to it: ${resolved.why})`}`,
      considered(auditing, false),
      r.id,
      resolved.ok ? resolved.body : null,
    );
  }
  if (candidates === 0)
    return allow(
      "no-matching-rule",
      platform,
      () => `no active rule for ${platform} matches ${identifiers.join(" / ")}`,
      considered(null, false),
    );
  return allow("compliant", platform, () => `${who()} meets every rule that applies to it`, considered(null, false));
}
