// enrollgate: the gate for an MDM server, and policies for CI.
//
// The package root holds what an application or a CI script needs: the gate
// (enrollmentGate for an Express app, startServer for a standalone server),
// policies (loadPolicySet, compile, assertCompiled, decide, runTests),
// enrolled devices (ddmDeclarations, judgeStatus), the coverage of Apple's
// models (coverage, formatCoverage), policy changes (diffPolicySets,
// formatDiff), reports of findings (formatReport), the errors they throw, and
// their types. Lower-level pieces are in subpath entries, each with its own
// index.ts: enrollgate/policy, enrollgate/apple, enrollgate/feeds,
// enrollgate/ddm, enrollgate/gate, enrollgate/express,
// enrollgate/report and enrollgate/cli (docs/library.md,
// "Package entries").

// The gate: Express middleware and the standalone server.
export { enrollmentGate } from "./gate/middleware.js";
export type { EnrollmentGate, EnrollmentGateOptions, GateOutcome } from "./gate/middleware.js";
export { gateOutcome, GateNotRunError } from "./gate/outcome.js";
export { startServer, StartupError } from "./gate/server.js";
export type { ServerOptions, RunningServer } from "./gate/server.js";
export type { TlsReloadResult } from "./gate/tls.js";
export type { SettingsOverrides, ReloadResult, ReloadSuccess } from "./gate/policy-store.js";
export type { CompileLimits } from "./gate/compile-in-worker.js";
export type { ClientAddress } from "./gate/trust-proxy.js";
export type { Logger } from "./gate/log.js";
export type { VerificationOutcome } from "./apple/machine-info.js";

// Policies: load (files, at the edge), compile (pure), decide (pure), test.
export { loadPolicySet, policyFileReader, PolicyLoadError } from "./policy/load.js";
export { compile } from "./policy/compile.js";
export type {
  CompileOptions,
  CompileResult,
  CompiledPolicySet,
  CompiledRule,
  PolicySetSource,
  PolicyFile,
} from "./policy/compile.js";
export { assertCompiled, PolicySetError } from "./policy/policy-set-error.js";
export { decide } from "./policy/decide.js";
export type { DecideOptions } from "./policy/decide.js";
export type {
  Decision,
  DeviceFacts,
  Reason,
  Rule,
  RuleConsideration,
  RuleOutcome,
  Settings,
  SoftwareUpdateRequiredBody,
  TestCase,
  PolicyPlatform,
} from "./policy/model.js";
export { runTests } from "./policy/testing.js";
export type { TestReport, CaseResult } from "./policy/testing.js";

// Coverage: every model Apple's feed lists, the rule that decides it, and what its floor leaves open.
export { coverage, COVERAGE_FORMAT } from "./impact/coverage.js";
export type { CoverageReport, CoverageModel, CoverageRule, CoverageOptions } from "./impact/coverage.js";
export { COVERAGE_STATUSES, COVERAGE_PLATFORMS, COVERAGE_OUTPUTS } from "./impact/coverage-names.js";
export type { CoverageStatus, CoverageOutput } from "./impact/coverage-names.js";
export { formatCoverage } from "./impact/coverage-format.js";

// Enrolled devices: DDM declarations from the `enrolled` blocks, and status reports judged (pure).
export { ddmDeclarations } from "./ddm/declarations.js";
export type { DdmOptions, DdmDeclarationSet } from "./ddm/declarations.js";
export { judgeStatus } from "./ddm/judge.js";
export type { StatusJudgement, DeviceJudgement, DdmJudgement, JudgeStatusOptions } from "./ddm/judge.js";
export type { StatusReportInput } from "./ddm/status.js";
export type { Declaration } from "./apple/ddm.js";
export type { EnrolledPolicy, Deadline } from "./policy/model.js";

// Findings, and reports of them.
export { formatReport } from "./report/format-report.js";
export { REPORT_FORMATS } from "./report/report.js";
export type { ReportFormat, ValidationReport } from "./report/report.js";
export { formatFinding } from "./policy/findings.js";
export type { Finding, FindingCode, Severity } from "./policy/findings.js";
export { formatLocation } from "./location.js";
export type { FileLocation } from "./location.js";

// Policy changes: rule changes and device impact between two sets (`enrollgate diff`).
export { diffPolicySets } from "./impact/diff.js";
export type { PolicyDiff, DiffOptions } from "./impact/diff.js";
export { formatDiff, DIFF_FORMATS } from "./impact/format.js";
export type { DiffFormat } from "./impact/format.js";
export { readInventories, InventoryError } from "./impact/inventory.js";
export type { Inventory, InventoryDevice, InventoryProblem } from "./impact/inventory.js";
export type { Impact, ImpactGroup, Outcome } from "./impact/impact.js";
export type { RuleChange, FieldChange, SettingChange } from "./impact/rule-changes.js";

// Errors: decide by `code` or `category`, never by class name.
export { EnrollgateError, InternalError, isInputError, hasErrorCode } from "./errors.js";
export type { ErrorCategory } from "./errors.js";
