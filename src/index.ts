// enrollgate's public API.
export { EnrollgateError, InternalError, isInputError, hasErrorCode } from "./errors.js";
export type { ErrorCategory } from "./errors.js";
export { parseOsVersion, tryParseOsVersion, compareOsVersions, compareOsVersionStrings, formatOsVersion, withSupplementalExtra, VersionError } from "./apple/version.js";
export type { OsVersion } from "./apple/version.js";
export { parseBuild, tryParseBuild, compareBuilds, compareBuildStrings, formatBuild } from "./apple/build.js";
export type { Build, BuildKind } from "./apple/build.js";
export { PLATFORMS, platformOfProduct, isPlatform } from "./apple/platform.js";
export type { Platform, SchemaPlatform } from "./apple/platform.js";
export { parseAppleSchema, toAppleSchemaDocument, AppleSchemaError } from "./apple/schema/document.js";
export type { AppleSchemaDocument, AppleKey, TypeToken, SupportedOS, KeyList } from "./apple/schema/document.js";
export { toJsonSchema, SchemaTargetError } from "./apple/schema/json-schema.js";
export type { SchemaTarget, Direction, Conversion, JsonSchema } from "./apple/schema/json-schema.js";
export { compileAppleSchema, formatViolations } from "./apple/schema/validator.js";
export type { CompiledAppleSchema, ValidationResult, SchemaViolation } from "./apple/schema/validator.js";

// Policies: load (files, at the edge), compile (pure), decide (pure).
export { loadPolicySet, policyFileReader, PolicyLoadError } from "./policy/load.js";
export type { NamedFileKind, NamedFileRead } from "./policy/semantic.js";
export { weakenings, describeWeakening } from "./policy/weakening.js";
export type { Weakening, WeakeningKind, PolicySnapshot } from "./policy/weakening.js";
export { readRegularFile, readRegularFileSync, FileRefusedError, FILE_LIMITS } from "./safe-file.js";
export type { FileProblem, ReadOptions } from "./safe-file.js";
export { compile } from "./policy/compile.js";
export { assertCompiled, PolicySetError } from "./policy/policy-set-error.js";
export type { CompileOptions, CompileResult, CompiledPolicySet, CompiledRule, PolicySetSource, PolicyFile } from "./policy/compile.js";
export { decide } from "./policy/decide.js";
export { runTests } from "./policy/testing.js";
export type { TestReport, CaseResult } from "./policy/testing.js";
export { REASONS, DEFAULT_SETTINGS } from "./policy/model.js";
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
export { ALWAYS_AVAILABLE } from "./policy/availability.js";
export type { AvailabilitySource, AvailabilityQuery, AvailabilityAnswer, DeviceIdentity } from "./policy/availability.js";
export { FINDING_CODES, formatFinding } from "./policy/findings.js";
export { formatLocation } from "./location.js";
export type { FileLocation } from "./location.js";
export type { CodeInfo, Finding, FindingCode, Severity } from "./policy/findings.js";
export { renderBody, negotiateFormat } from "./policy/render.js";
export type { ResponseFormat, RenderedResponse } from "./policy/render.js";
export { redactToken, SOFTWARE_UPDATE_REQUIRED } from "./apple/software-update-required.js";
export { formatReport, REPORT_FORMATS } from "./report/index.js";
export type { ReportFormat, ValidationReport } from "./report/index.js";

// The gate: Express middleware and the standalone server.
export { enrollmentGate } from "./gate/middleware.js";
export type { EnrollmentGate, EnrollmentGateOptions, GateOutcome } from "./gate/middleware.js";
export { startServer, StartupError, DEFAULT_MAX_CONNECTIONS, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from "./gate/server.js";
export type { ServerOptions, RunningServer } from "./gate/server.js";
export { PolicyStore, TrustAnchorError } from "./gate/policy-store.js";
export type { ActiveState, ReloadResult, ReloadSuccess, SettingsOverrides } from "./gate/policy-store.js";
export { DEFAULT_COMPILE_LIMITS } from "./gate/compile-in-worker.js";
export type { CompileLimits } from "./gate/compile-in-worker.js";
export { REJECTIONS } from "./gate/rejections.js";
export type { Rejection, RejectionCode } from "./gate/rejections.js";
export { ProxyTrust, TrustProxyError } from "./gate/trust-proxy.js";
export type { ClientAddress } from "./gate/trust-proxy.js";
export { GateMetrics } from "./gate/metrics.js";
export { createLogger } from "./gate/log.js";
export type { Logger } from "./gate/log.js";

// MachineInfo.
export { readMachineInfo, machineInfoFromFile } from "./apple/machine-info.js";
export type { MachineInfo, MachineInfoRead, MachineInfoProblem, MachineInfoOptions, VerificationOutcome, VerifyMode } from "./apple/machine-info.js";
export { ingestMachineInfo } from "./gate/ingest.js";
export type { MachineInfoResult, MachineInfoRejection } from "./gate/ingest.js";
export { factsOfMachineInfo, factsOfDeviceInformation } from "./policy/facts.js";
export { parseSignedData, CmsError, MAX_CERTIFICATES } from "./apple/cms.js";
export type { SignedData, SignerInfo } from "./apple/cms.js";
export { verifySignedData, parsePemCertificates, TrustStore } from "./apple/cms-verify.js";
export type { Verification, VerifierCaches, SignerIdentity, LinkCache } from "./apple/cms-verify.js";
export { validateChain } from "./apple/chain.js";
export { APPLE_ISSUER_PINS } from "./apple/apple-device-chain.js";
export type { IssuerPin, TrustStoreOptions } from "./apple/trust-store.js";
export type { ChainOutcome } from "./apple/chain.js";
export { Certificate, CertificateError } from "./apple/x509.js";
export type { PublicKeyDescription, BasicConstraints } from "./apple/x509.js";
export { keyProblem, RSA_MIN_BITS, RSA_MAX_BITS, RSA_MAX_EXPONENT } from "./apple/key-limits.js";
export { VERIFICATION_CODES } from "./apple/verification-codes.js";
export type { VerificationCode, VerificationFailure } from "./apple/verification-codes.js";
export { CertificateCache } from "./gate/verification-cache.js";
export { parsePlistBytes, parsePlistText, PlistError } from "./apple/plist.js";
export type { PlistValue } from "./apple/plist.js";
export { BandedSchema } from "./apple/schema/banded.js";

// Availability feeds: Apple's GDMF feed and Azure Device Update.
export { parseGdmf, gdmfAvailability, gdmfLatest, FeedError } from "./feeds/gdmf.js";
export type { GdmfFeed, GdmfRelease, GdmfDevice } from "./feeds/gdmf.js";
export { fetchGdmf, GDMF_URL } from "./feeds/gdmf-fetch.js";
export { AduClient, AduError, staticToken, ADU_SCOPE, ADU_READ_ROLE } from "./feeds/adu-client.js";
export type { AduApi, AduUpdate, TokenCredential, AduClientOptions } from "./feeds/adu-client.js";
export { parseAduCatalog, serializeAduCatalog, pullAduCatalog, aduAvailability } from "./feeds/adu-catalog.js";
export type { AduCatalog, AduCatalogEntry, AduWant } from "./feeds/adu-catalog.js";
export { feedAvailability } from "./feeds/availability.js";
export type { Feeds } from "./feeds/availability.js";
export { FeedProvider, resolveFeedConfig, aduCredential } from "./feeds/provider.js";
export type { FeedFlags, FeedConfig } from "./feeds/provider.js";

// OSUpdateStatus: the command, responses, and judging enrolled devices.
export { osUpdateStatusCommand, parseOsUpdateStatusResponse, parseProductKey, CommandError, COMMAND_STATUSES, UPDATE_STATUSES } from "./apple/os-update-status.js";
export type { OsUpdateStatusResponse, OsUpdateStatusItem, ErrorChainEntry, ProductKeyInfo, CommandStatus } from "./apple/os-update-status.js";
export { readDeviceInformation, DeviceInformationError } from "./apple/device-information.js";
export type { DeviceInformation } from "./apple/device-information.js";
export { judgeCompliance, reachesMinimum } from "./policy/compliance.js";
export type { ComplianceReport, Judgement, UpdateProgress, BuildVersions } from "./policy/compliance.js";
export { gdmfBuildVersion } from "./feeds/gdmf.js";
export type { DecideOptions } from "./policy/decide.js";
export { bundledAppleSchema, appleTrustAnchors, APPLE_TRUST_ANCHORS } from "./apple/bundled.js";
export type { BundledAppleSchema } from "./apple/bundled.js";
