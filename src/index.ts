// enrollgate's public API.
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
