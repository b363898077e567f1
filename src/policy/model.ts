// The policy model: rules, settings, test cases, device facts and decisions,
// as plain immutable data.
export type { SoftwareUpdateRequiredBody } from "../apple/software-update-required.js";
import type { Build } from "../apple/build.js";
import type { OsVersion } from "../apple/version.js";
import type { Platform } from "../apple/platform.js";
import type { SoftwareUpdateRequiredBody } from "../apple/software-update-required.js";
import type { SourceRange } from "./findings.js";

/** The platforms a rule can name (tvOS and watchOS cannot be asked to update). */
export type PolicyPlatform = "iOS" | "iPadOS" | "macOS" | "visionOS";

export type Mode = "enforce" | "audit";

export type TargetSpec =
  | { readonly kind: "version"; readonly version: OsVersion; readonly text: string }
  | { readonly kind: "latest" }
  | { readonly kind: "latest-in-major" };

export type TokenRef = { readonly env: string } | { readonly file: string };

/**
 * When an enrolled device must have installed its target: a date-time on the
 * device's own clock (Apple's TargetLocalDateTime), or a number of days after
 * Apple released the target (its PostingDate in GDMF) at a local time of day.
 */
export type Deadline =
  | {
      readonly kind: "local";
      /** yyyy-mm-ddThh:mm:ss, no time zone: the device's local time. */
      readonly localDateTime: string;
    }
  | {
      readonly kind: "after-release";
      readonly daysAfterRelease: number;
      /** hh:mm, the device's local time. */
      readonly at: string;
    };

/**
 * A rule's `enrolled` block: what an enrolled device must run and by when,
 * enforced with Apple's declarative device management. Plain data, so that
 * two rules' blocks compare as values.
 */
export interface EnrolledPolicy {
  /** Default: the rule's own target. */
  readonly target: TargetSpec;
  readonly targetBuild: string | null;
  readonly deadline: Deadline;
  readonly detailsURL: string | null;
}

export interface AduReference {
  readonly provider: string;
  readonly name: string;
  readonly manufacturer: string;
}

/** A rule as written in a policy file, parsed: versions and builds as Apple orders them, dates as epoch ms. */
export interface Rule {
  readonly id: string;
  readonly platform: PolicyPlatform;
  /** Globs over PRODUCT or SOFTWARE_UPDATE_DEVICE_ID; null means every model. */
  readonly models: ReadonlyArray<string> | null;
  readonly minimum: OsVersion;
  readonly minimumText: string;
  readonly minimumBuild: Build | null;
  readonly minimumBuildText: string | null;
  readonly target: TargetSpec;
  readonly targetBuild: string | null;
  readonly betaProgram: { readonly description: string; readonly token: TokenRef } | null;
  readonly message: string | null;
  readonly description: string | null;
  readonly mode: Mode;
  /** Epoch milliseconds; the rule is inactive before it. */
  readonly activeFrom: number | null;
  readonly exempt: {
    readonly serials: ReadonlySet<string>;
    readonly until: number | null;
    readonly untilText: string | null;
  } | null;
  readonly whenUnavailable: "allow" | "block";
  readonly adu: AduReference | null;
  /** What an enrolled device must run, and by when; null when the rule says nothing about enrolled devices. */
  readonly enrolled: EnrolledPolicy | null;
  /** Where the rule is defined (its `id`). */
  readonly source: SourceRange;
}

export type ResponseFormatSetting = "json" | "plist" | "negotiate";
export type VerifyMode = "enforce" | "audit" | "off";

export interface FeedSettings {
  /** GDMF snapshot path, relative to the policy directory. */
  readonly gdmf?: string;
  /** SOFA v2 feed snapshots (iOS, macOS), relative to the policy directory: one path or a list. */
  readonly sofa?: string | ReadonlyArray<string>;
  readonly adu?: {
    readonly catalog?: string;
    readonly url?: string;
    readonly instance?: string;
    readonly api?: "v2" | "2022-10-01";
  };
}

/**
 * HTTPS for `enrollgate serve` (enrollgate.yaml `tls`): a PEM certificate, with its chain, and its unencrypted PEM
 * private key. Paths as written, relative to the policy directory; both must resolve inside it or a secrets directory
 * (the key belongs in a secrets directory: the policy directory is a git repository).
 */
export interface TlsSettings {
  readonly cert: string;
  readonly key: string;
}

/** A policy set's settings (enrollgate.yaml), with the defaults filled in (DEFAULT_SETTINGS). */
export interface Settings {
  readonly format: ResponseFormatSetting;
  readonly verify: VerifyMode;
  /** Paths as written, relative to the policy directory. */
  readonly trustAnchors: ReadonlyArray<string>;
  readonly bodyLimit: number;
  /** Milliseconds a MachineInfo body may take to arrive (408 after). */
  readonly bodyTimeout: number;
  readonly noMachineInfo: "allow" | "reject";
  /** Peers whose forwarding headers are believed: addresses, CIDR ranges, loopback, linklocal, uniquelocal. */
  readonly trustProxy: ReadonlyArray<string>;
  readonly feeds?: FeedSettings;
  /** The serving certificate; absent: plain HTTP unless `--tls-cert` and `--tls-key` are given. */
  readonly tls?: TlsSettings;
}

export const DEFAULT_SETTINGS: Settings = Object.freeze({
  format: "json",
  verify: "enforce",
  trustAnchors: Object.freeze([]),
  bodyLimit: 64 * 1024,
  bodyTimeout: 10_000,
  noMachineInfo: "allow",
  trustProxy: Object.freeze([]),
});

/** What decide() knows about a device: MachineInfo's keys, by meaning. */
export interface DeviceFacts {
  /** PRODUCT, e.g. "iPhone15,2" */
  readonly product: string;
  /** OS_VERSION; absent on devices older than iOS 17 / macOS 14 */
  readonly osVersion?: string;
  /** VERSION, the installed build */
  readonly build?: string;
  readonly serial?: string;
  readonly udid?: string;
  /** SOFTWARE_UPDATE_DEVICE_ID (a Mac's board id) */
  readonly deviceId?: string;
  /** SUPPLEMENTAL_OS_VERSION_EXTRA, e.g. "(a)" */
  readonly supplementalExtra?: string;
  /** SUPPLEMENTAL_BUILD_VERSION */
  readonly supplementalBuild?: string;
  /** MDM_CAN_REQUEST_SOFTWARE_UPDATE (Apple's default: false) */
  readonly canRequestUpdate: boolean;
}

/** The closed set of reasons, DESIGN.md's CLI contract. */
export const REASONS = [
  "compliant",
  "no-matching-rule",
  "exempt",
  "cannot-request-update",
  "unsupported-os",
  "no-machine-info",
  "target-unavailable",
  "audit-only",
  "below-minimum",
] as const;
/** Why a device was allowed or blocked: one of REASONS. */
export type Reason = (typeof REASONS)[number];

/** Why a rule did or did not decide, for one device. */
export type RuleOutcome =
  | "inactive" // activeFrom is in the future
  | "exempt" // the device's serial is exempt
  | "not-below" // the device meets the minimum
  | "below" // the device is below, but a stricter rule decided
  | "decided"; // this rule decided

/** One rule the index found for a device, and what became of it. */
export interface RuleConsideration {
  readonly rule: string;
  readonly mode: Mode;
  readonly outcome: RuleOutcome;
  readonly detail: string;
}

/** What decide() answers for one device. */
export interface Decision {
  readonly decision: "allow" | "block";
  readonly reason: Reason;
  /** The deciding rule, or null. */
  readonly rule: string | null;
  /** The 403 body sent (block), or that would have been sent (audit-only). */
  readonly body: SoftwareUpdateRequiredBody | null;
  readonly platform: Platform | null;
  /** One line on why. */
  readonly summary: string;
  /** Every rule the index found for this device, and what became of it. */
  readonly considered: ReadonlyArray<RuleConsideration>;
}

export interface TestExpectation {
  readonly decision: "allow" | "block";
  readonly reason: Reason;
  /** undefined: not checked; null: no rule. */
  readonly rule?: string | null;
  readonly target?: string;
  readonly buildVersion?: string | null;
  readonly betaProgram?: boolean;
}

/** A case of a `*.test.yaml` file, parsed: a device, an optional instant, and what must be decided. */
export interface TestCase {
  readonly name: string;
  readonly source: SourceRange;
  /** Where `expect.rule` is written, for findings about it. */
  readonly ruleSource: SourceRange | null;
  readonly now: number | null;
  readonly facts: DeviceFacts;
  readonly expect: TestExpectation;
}
