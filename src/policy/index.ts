// `enrollgate/policy`: the policy engine's lower-level pieces, beside what
// the package root exports (loadPolicySet, compile, assertCompiled, decide,
// runTests). The closed sets and defaults of the policy format; the
// availability and vulnerability sources compile() asks; rendering a 403 body yourself; facts
// from MachineInfo and DeviceInformation; judging enrolled devices; what a
// new set weakens; a compiled set as plain data and back; and the readers
// under loading: model globs, positioned YAML, the nesting pre-check, and
// the confined file reader every file a policy names goes through.

export { REASONS, DEFAULT_SETTINGS } from "./model.js";
export type {
  Mode,
  TargetSpec,
  TokenRef,
  AduReference,
  FeedSettings,
  ResponseFormatSetting,
  TestExpectation,
} from "./model.js";
export { FINDING_CODES } from "./findings.js";
export type { CodeInfo, Position, SourceRange, RelatedLocation } from "./findings.js";

// What compile() asks of the feeds.
export { ALWAYS_AVAILABLE } from "./availability.js";
export type {
  PublishedRelease,
  AvailabilitySource,
  AvailabilityQuery,
  AvailabilityAnswer,
  DeviceIdentity,
  FeedProblem,
} from "./availability.js";
export type { VulnerabilitySource, ExploitedVulnerability, ExposedDevice } from "./vulnerabilities.js";

// Decisions, for code that answers devices itself.
export { renderBody, negotiateFormat } from "./render.js";
export type { ResponseFormat, RenderedResponse } from "./render.js";
export { factsOfMachineInfo, factsOfDeviceInformation } from "./facts.js";

// Enrolled devices: `enrolled` blocks (targets, deadlines on the device's clock, Apple's releases), and
// OSUpdateStatus responses judged against the same rules.
export { resolveDeadline, declarationIdentifier } from "./enrolled.js";
export type { ResolvedDeadline } from "./enrolled.js";
export { normalizeLocalDateTime, localInstants, instantIn, isTimeZone, describeDeadline } from "./deadline.js";
export { postedOn, offeredModels, listedModels, newestByModel, releasesOf } from "./releases.js";
export { judgeCompliance, reachesMinimum } from "./compliance.js";
export type { ComplianceReport, Judgement, UpdateProgress, BuildVersions } from "./compliance.js";

// Between two sets, and across threads.
export { weakenings, describeWeakening } from "./weakening.js";
export type { Weakening, WeakeningKind, PolicySnapshot } from "./weakening.js";
export { compiledSetData, hydrateCompiledSet, HydrationError } from "./compiled-data.js";
export type { CompiledSetData } from "./compiled-data.js";

// Reading policy files.
export { compileGlob } from "./glob.js";
export type { ModelGlob } from "./glob.js";
export { parseSource } from "./source.js";
export type { SourceFile, ParsedSource } from "./source.js";
export { firstTooDeep, MAX_YAML_DEPTH } from "./yaml-depth.js";
export type { FileKind } from "./policy-schema.js";
export type { NamedFileKind, NamedFileRead } from "./semantic.js";
export { readRegularFile, readRegularFileSync, FileRefusedError, FILE_LIMITS } from "../safe-file.js";
export type { FileProblem, ReadOptions } from "../safe-file.js";
