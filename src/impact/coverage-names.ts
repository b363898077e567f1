// The closed sets of `enrollgate coverage`: statuses, platforms, output
// formats. A leaf, so that the command line can name them without loading
// the report's code.
import type { PolicyPlatform } from "../policy/model.js";

/** The platforms the gate can ask to update, in report order. */
export const COVERAGE_PLATFORMS: ReadonlyArray<PolicyPlatform> = ["iOS", "iPadOS", "macOS", "visionOS"];

/**
 * What a model's row says, most urgent first: its floor is above what it can
 * install (or its target is not offered to it); its floor leaves actively
 * exploited CVEs open; no rule matches it; only audit rules do; it cannot run
 * an OS that can be asked to update at enrollment; all is well.
 */
export const COVERAGE_STATUSES = ["unreachable", "exposed", "uncovered", "audit-only", "unsupported", "ok"] as const;
/** A model's status in a coverage report: one of COVERAGE_STATUSES. */
export type CoverageStatus = (typeof COVERAGE_STATUSES)[number];

/** The formats `enrollgate coverage --format` takes. */
export const COVERAGE_OUTPUTS = ["text", "markdown", "json", "html"] as const;
/** One of COVERAGE_OUTPUTS. */
export type CoverageOutput = (typeof COVERAGE_OUTPUTS)[number];
