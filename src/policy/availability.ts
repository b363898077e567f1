// Whether a target version is really available to a device: the seam where
// Apple's update feed and the ADU catalog plug in. Compiled into the policy
// set as data; answering never touches the network.
import type { Platform } from "../apple/platform.js";
import type { OsVersion } from "../apple/version.js";
import type { FindingCode, Severity } from "./findings.js";
import type { AduReference, Rule } from "./model.js";

export interface DeviceIdentity {
  readonly platform: Platform;
  /** PRODUCT */
  readonly product: string;
  /** SOFTWARE_UPDATE_DEVICE_ID (board id on Macs), when the device sent one */
  readonly deviceId: string | null;
  /** VERSION, the build the device runs (security improvements need a prerequisite build) */
  readonly build: string | null;
}

export interface AvailabilityQuery {
  readonly device: DeviceIdentity;
  readonly version: OsVersion;
  readonly now: number;
  readonly adu: AduReference | null;
  /** The rule enrolls the device in a beta program, which delivers the seed itself (no public feed lists seeds). */
  readonly betaProgram: boolean;
}

export type AvailabilityAnswer = { readonly available: true } | { readonly available: false; readonly reason: string };

/** A feed's objection to a rule, found at validate time; compile places it at the field. */
export interface FeedProblem {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** The rule field to point at. */
  readonly field: "target" | "minimum" | "adu" | "models";
  /** The item of a list field (`models`) to point at. */
  readonly index?: number;
  readonly message: string;
}

/**
 * One release in Apple's GDMF feed, as plain data: what `enrolled` blocks need
 * of it (which models are offered a version, and when Apple posted it).
 */
export interface PublishedRelease {
  /** The feed's platform key: iOS (iPhones, iPads, and since 26 watches and TVs), macOS, visionOS. */
  readonly feedPlatform: string;
  readonly version: OsVersion;
  readonly build: string;
  /** For a background security improvement: the build it installs on top of. */
  readonly prerequisiteBuild: string | null;
  /** Epoch ms: the day Apple posted it (PostingDate). */
  readonly posted: number;
  /** Epoch ms: the first instant it is no longer offered, or null. */
  readonly expires: number | null;
  /** Product types (iPhone17,3) or, for Macs, board ids (J414sAP). */
  readonly devices: ReadonlySet<string>;
}

export interface AvailabilitySource {
  /** A name for explanations and logs, e.g. "Apple's feed + ADU". */
  readonly name: string;
  /** Changes when the data does; part of the policy set's revision. */
  readonly revision: string;
  check(query: AvailabilityQuery): AvailabilityAnswer;
  /**
   * The newest version available to the device (within `major` when given),
   * for `target: latest` and `latest-in-major`; null when there is none or the
   * source cannot say.
   */
  latest(device: DeviceIdentity, now: number, major: number | null): OsVersion | null;
  /** Whether `latest` can be answered at all. */
  readonly resolvesLatest: boolean;
  /** Apple's GDMF releases, when the source has the feed: for `enrolled` targets and deadlines. */
  readonly published?: ReadonlyArray<PublishedRelease>;
  /** Validate-time checks of a rule against the feeds. */
  checkRule?(rule: Rule, now: number | null): ReadonlyArray<FeedProblem>;
}

/** No feeds configured: every target is available; latest cannot be resolved. */
export const ALWAYS_AVAILABLE: AvailabilitySource = Object.freeze({
  name: "none",
  revision: "none",
  check: () => ({ available: true }) as const,
  latest: () => null,
  resolvesLatest: false,
});
