// `enrollgate/apple`: Apple's formats, for code that reads or writes them
// without policies. OS versions and builds as Apple orders them, platforms,
// the schema compiler for Apple's device-management YAML, MachineInfo and the
// CMS, X.509 and BER readers under it, property lists, the
// softwareupdate.required body, OSUpdateStatus and DeviceInformation, and
// the schemas and trust anchors the package ships. Nothing here knows of
// policies, the gate or the command line.

// Versions, builds and platforms.
export {
  parseOsVersion,
  tryParseOsVersion,
  compareOsVersions,
  compareOsVersionStrings,
  formatOsVersion,
  withSupplementalExtra,
  VersionError,
} from "./version.js";
export type { OsVersion } from "./version.js";
export { parseBuild, tryParseBuild, compareBuilds, compareBuildStrings, formatBuild } from "./build.js";
export type { Build, BuildKind } from "./build.js";
export { PLATFORMS, SCHEMA_PLATFORMS, platformOfProduct, isPlatform } from "./platform.js";
export type { Platform, SchemaPlatform } from "./platform.js";

// The schema compiler: Apple's YAML format to JSON Schema, compiled by Ajv.
export { parseAppleSchema, toAppleSchemaDocument, AppleSchemaError } from "./schema/document.js";
export type { AppleSchemaDocument, AppleKey, TypeToken, SupportedOS, KeyList } from "./schema/document.js";
export { toJsonSchema, SchemaTargetError } from "./schema/json-schema.js";
export type { SchemaTarget, Direction, Conversion, JsonSchema } from "./schema/json-schema.js";
export { compileAppleSchema, createAjv, formatViolations } from "./schema/validator.js";
export type { CompiledAppleSchema, ValidationResult, SchemaViolation } from "./schema/validator.js";
export { BandedSchema } from "./schema/banded.js";
export { versionBoundaries } from "./schema/bands.js";
export { precompiledKey } from "./schema/precompiled.js";
export { bundledAppleSchema, appleTrustAnchors, APPLE_TRUST_ANCHORS } from "./bundled.js";
export type { BundledAppleSchema, DdmDeclarationSchema, DdmStatusSchema } from "./bundled.js";

// The 403 body Apple specifies.
export { SOFTWARE_UPDATE_REQUIRED, errorSchema, redactToken } from "./software-update-required.js";
export type { SoftwareUpdateRequiredBody, ErrorSchema, ErrorBand } from "./software-update-required.js";

// MachineInfo: a CMS SignedData message around an XML plist.
export { readMachineInfo, machineInfoFromFile } from "./machine-info.js";
export type {
  MachineInfo,
  MachineInfoRead,
  MachineInfoProblem,
  MachineInfoOptions,
  VerificationOutcome,
  VerifyMode,
} from "./machine-info.js";
export { signedDataPrefix, SIGNED_DATA_PREFIX_MAX } from "./signed-data-prefix.js";
export type { PrefixVerdict } from "./signed-data-prefix.js";
export { parseSignedData, CmsError, MAX_CERTIFICATES } from "./cms.js";
export type { SignedData, SignerInfo } from "./cms.js";
export { verifySignedData } from "./cms-verify.js";
export type { Verification, VerifierCaches, SignerIdentity } from "./cms-verify.js";
export { TrustStore, parsePemCertificates } from "./trust-store.js";
export type { IssuerPin, TrustStoreOptions } from "./trust-store.js";
export { validateChain } from "./chain.js";
export type { ChainOutcome, LinkCache } from "./chain.js";
export { APPLE_ISSUER_PINS } from "./apple-device-chain.js";
export { Certificate, CertificateError } from "./x509.js";
export type { PublicKeyDescription, BasicConstraints } from "./x509.js";
export { keyProblem, RSA_MIN_BITS, RSA_MAX_BITS, RSA_MAX_EXPONENT } from "./key-limits.js";
export { VERIFICATION_CODES } from "./verification-codes.js";
export type { VerificationCode, VerificationFailure } from "./verification-codes.js";
export { decodeBer, encodingProblem, EncodingError } from "./ber.js";
export type { BerNode } from "./ber.js";
export { parsePlistBytes, parsePlistText, PlistError } from "./plist.js";
export type { PlistValue } from "./plist.js";

// After enrollment: OSUpdateStatus and DeviceInformation.
export {
  osUpdateStatusCommand,
  parseOsUpdateStatusResponse,
  parseProductKey,
  CommandError,
  COMMAND_STATUSES,
  UPDATE_STATUSES,
} from "./os-update-status.js";
export type {
  OsUpdateStatusResponse,
  OsUpdateStatusItem,
  ErrorChainEntry,
  ProductKeyInfo,
  CommandStatus,
} from "./os-update-status.js";
export { readDeviceInformation, DeviceInformationError } from "./device-information.js";

// Declarative device management: the declarations enrollgate writes, and the status reports devices send.
export {
  DECLARATION_TYPES,
  DDM_STATUS_ITEMS,
  declaration,
  declarationProblem,
  declarationSupportedFrom,
  declarationKeySupportedFrom,
  enforcementPayload,
  betaSettingsPayload,
  canonicalJson,
  readStatusReport,
  statusItemSupported,
  statusItemSupportedFrom,
  MAX_IDENTIFIER_OCTETS,
} from "./ddm.js";
export type {
  DeclarationKind,
  DeclarationType,
  EnforcementPayload,
  BetaSettingsPayload,
  ActivationPayload,
  StatusSubscriptionsPayload,
  DdmStatusItem,
  StatusReportRead,
  InvalidStatusItem,
  StatusItemError,
} from "./ddm.js";
export type { DeviceInformation } from "./device-information.js";
