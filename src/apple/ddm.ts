// Declarative device management (DDM) in Apple's formats: the declarations
// enrollgate writes (software update enforcement and settings, activations,
// status subscriptions), validated against Apple's declaration schemas in
// schemas/ddm/, and the status reports devices send, read and validated
// against the status item schemas in schemas/ddm/status/ (receive direction).
// Nothing here knows of policies.
import { createHash } from "node:crypto";
import { bundledAppleSchema, type DdmDeclarationSchema, type DdmStatusItem } from "./bundled.js";
import { schemaPlatform, type Platform } from "./platform.js";
import { versionBoundaries, schemaHasKey } from "./schema/bands.js";
import { compileAppleSchema, formatViolations, type CompiledAppleSchema } from "./schema/validator.js";
import { formatOsVersion, parseOsVersion, type OsVersion } from "./version.js";

export type { DdmStatusItem } from "./bundled.js";

/** The declaration types enrollgate writes. */
export const DECLARATION_TYPES = {
  enforcement: "com.apple.configuration.softwareupdate.enforcement.specific",
  settings: "com.apple.configuration.softwareupdate.settings",
  activation: "com.apple.activation.simple",
  statusSubscriptions: "com.apple.configuration.management.status-subscriptions",
} as const;
export type DeclarationKind = keyof typeof DECLARATION_TYPES;
export type DeclarationType = (typeof DECLARATION_TYPES)[DeclarationKind];

const SCHEMA_OF: Record<DeclarationType, DdmDeclarationSchema> = {
  [DECLARATION_TYPES.enforcement]: "softwareupdate.enforcement.specific",
  [DECLARATION_TYPES.settings]: "softwareupdate.settings",
  [DECLARATION_TYPES.activation]: "activation.simple",
  [DECLARATION_TYPES.statusSubscriptions]: "management.status-subscriptions",
};

/** `com.apple.configuration.softwareupdate.enforcement.specific`'s payload. */
export interface EnforcementPayload {
  readonly TargetOSVersion: string;
  readonly TargetBuildVersion?: string;
  /** yyyy-mm-ddThh:mm:ss, the device's local time. */
  readonly TargetLocalDateTime: string;
  readonly DetailsURL?: string;
}

/** `com.apple.configuration.softwareupdate.settings`'s payload, as enrollgate writes it: a required beta program. */
export interface BetaSettingsPayload {
  readonly Beta: {
    readonly ProgramEnrollment: "AlwaysOn";
    readonly RequireProgram: { readonly Description: string; readonly Token: string };
  };
}

/** `com.apple.activation.simple`'s payload. */
export interface ActivationPayload {
  readonly StandardConfigurations: ReadonlyArray<string>;
  readonly Predicate?: string;
}

/** `com.apple.configuration.management.status-subscriptions`'s payload. */
export interface StatusSubscriptionsPayload {
  readonly StatusItems: ReadonlyArray<{ readonly Name: string }>;
}

/** The enforcement payload for a version, an optional build, a local deadline and an optional details page. */
export function enforcementPayload(target: {
  readonly version: string;
  readonly build: string | null;
  readonly localDateTime: string;
  readonly detailsURL: string | null;
}): EnforcementPayload {
  return {
    TargetOSVersion: target.version,
    ...(target.build !== null ? { TargetBuildVersion: target.build } : {}),
    TargetLocalDateTime: target.localDateTime,
    ...(target.detailsURL !== null ? { DetailsURL: target.detailsURL } : {}),
  };
}

/** The settings payload that enrolls a device in a beta program and keeps it there. */
export function betaSettingsPayload(program: {
  readonly description: string;
  readonly token: string;
}): BetaSettingsPayload {
  return {
    Beta: { ProgramEnrollment: "AlwaysOn", RequireProgram: { Description: program.description, Token: program.token } },
  };
}

/** One declaration, as the device receives it (JSON). */
export interface Declaration<P extends object = object> {
  readonly Type: DeclarationType;
  readonly Identifier: string;
  readonly ServerToken: string;
  readonly Payload: P;
}

/** Apple: identifiers and server tokens "should not exceed 64 octets". */
export const MAX_IDENTIFIER_OCTETS = 64;

/** JSON with object keys sorted at every level: equal content, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A declaration with its ServerToken: a hash of its type, identifier and
 * payload, so that the token changes exactly when the content does (Apple:
 * "compute the token over the entire declaration content").
 */
export function declaration<P extends object>(type: DeclarationType, identifier: string, payload: P): Declaration<P> {
  const token = createHash("sha256")
    .update(canonicalJson({ Type: type, Identifier: identifier, Payload: payload }))
    .digest("hex")
    .slice(0, 32);
  return { Type: type, Identifier: identifier, ServerToken: token, Payload: payload };
}

const compiled = new Map<string, CompiledAppleSchema>();

function compiledFor(name: Parameters<typeof bundledAppleSchema>[0], platform: Platform | null, os: OsVersion | null) {
  const key = `${name}|${platform ?? "*"}|${os === null ? "*" : formatOsVersion(os)}`;
  let c = compiled.get(key);
  if (c === undefined) {
    const doc = bundledAppleSchema(name);
    c = compileAppleSchema(doc, {
      direction: name.startsWith("ddm/status/") ? "receive" : "emit",
      ...(platform !== null ? { platform } : {}),
      ...(platform !== null && os !== null ? { os: formatOsVersion(os) } : {}),
    });
    compiled.set(key, c);
  }
  return c;
}

/** The newest OS band of a declaration's schema for a platform: where every key it knows exists. */
function newestBand(type: DeclarationType, platform: Platform): OsVersion {
  const bounds = versionBoundaries(bundledAppleSchema(`ddm/${SCHEMA_OF[type]}`), platform);
  return bounds[bounds.length - 1] as OsVersion;
}

/** The first OS version of a platform that applies a declaration type; null when none does. */
export function declarationSupportedFrom(type: DeclarationType, platform: Platform): OsVersion | null {
  const entry = bundledAppleSchema(`ddm/${SCHEMA_OF[type]}`).payload?.supportedOS?.[schemaPlatform(platform)];
  const introduced = entry?.introduced;
  if (introduced === undefined || introduced === "n/a") return null;
  return introduced === "all" ? { major: 0, minor: 0, patch: 0, extra: null } : parseOsVersion(introduced);
}

/** The first OS version of a platform whose schema for a declaration type has a key path; null when none has. */
export function declarationKeySupportedFrom(
  type: DeclarationType,
  path: ReadonlyArray<string>,
  platform: Platform,
): OsVersion | null {
  if (declarationSupportedFrom(type, platform) === null) return null;
  const name = `ddm/${SCHEMA_OF[type]}` as const;
  for (const band of versionBoundaries(bundledAppleSchema(name), platform)) {
    const c = compiledFor(name, platform, band);
    if (c.applicable && schemaHasKey(c.schema, path)) return band;
  }
  return null;
}

/**
 * Checks a declaration against Apple's schemas: the envelope every
 * declaration has (DeclarationBase) and the payload its type describes, for
 * the newest version of the platform (the one that knows every key). Null
 * when it passes; otherwise what fails.
 */
export function declarationProblem(d: Declaration, platform: Platform | null): string | null {
  const envelope = compiledFor("ddm/declarationbase", null, null);
  if (envelope.applicable) {
    const r = envelope.validate(d);
    if (!r.ok) return `the declaration: ${formatViolations(r.violations)}`;
  }
  const schema = SCHEMA_OF[d.Type];
  if (schema === undefined) return `unknown declaration type ${JSON.stringify(d.Type)}`;
  const c =
    platform === null
      ? compiledFor(`ddm/${schema}`, null, null)
      : compiledFor(`ddm/${schema}`, platform, newestBand(d.Type, platform));
  if (!c.applicable) return c.reason;
  const r = c.validate(d.Payload);
  return r.ok ? null : `its payload: ${formatViolations(r.violations)}`;
}

/** Every status item enrollgate subscribes to and reads, in a fixed order. */
export const DDM_STATUS_ITEMS: ReadonlyArray<DdmStatusItem> = [
  "device.identifier.udid",
  "device.identifier.serial-number",
  "device.model.identifier",
  "device.operating-system.family",
  "device.operating-system.version",
  "device.operating-system.build-version",
  "device.operating-system.supplemental.build-version",
  "device.operating-system.supplemental.extra-version",
  "softwareupdate.device-id",
  "softwareupdate.install-state",
  "softwareupdate.pending-version",
  "softwareupdate.failure-reason",
  "softwareupdate.install-reason",
  "softwareupdate.beta-enrollment",
];

/** Whether a platform reports a status item at all (softwareupdate.* is n/a on visionOS). */
export function statusItemSupported(item: DdmStatusItem, platform: Platform): boolean {
  const entry = bundledAppleSchema(`ddm/status/${item}`).payload?.supportedOS?.[schemaPlatform(platform)];
  return entry !== undefined && entry.introduced !== undefined && entry.introduced !== "n/a";
}

/** The first OS version of a platform that reports a status item; null when none does. */
export function statusItemSupportedFrom(item: DdmStatusItem, platform: Platform): OsVersion | null {
  const introduced = bundledAppleSchema(`ddm/status/${item}`).payload?.supportedOS?.[schemaPlatform(platform)]
    ?.introduced;
  return introduced === undefined || introduced === "n/a" ? null : parseOsVersion(introduced);
}

/** A status item Apple's schema does not accept, left out of the report. */
export interface InvalidStatusItem {
  readonly item: DdmStatusItem;
  readonly problem: string;
}

/** An entry of a report's `Errors`: a status item the device could not return. */
export interface StatusItemError {
  readonly statusItem: string;
  readonly reasons: ReadonlyArray<string>;
}

/** What a status report holds of the items enrollgate reads. */
export type StatusReportRead =
  | {
      readonly ok: true;
      /** The items present and valid, by name (plain values: strings, or the item's dictionary). */
      readonly items: ReadonlyMap<DdmStatusItem, unknown>;
      readonly invalid: ReadonlyArray<InvalidStatusItem>;
      readonly errors: ReadonlyArray<StatusItemError>;
      /** FullReport: true: the report replaces everything known of the device. */
      readonly fullReport: boolean;
    }
  | { readonly ok: false; readonly problem: string };

function own(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A status item's value in the nested form devices send: StatusItems.device["operating-system"].version. */
function itemAt(statusItems: unknown, item: string): unknown {
  let here: unknown = statusItems;
  for (const segment of item.split(".")) {
    here = own(here, segment);
    if (here === undefined) return undefined;
  }
  return here;
}

/**
 * Apple's description of softwareupdate.install-state names `waiting`, which
 * its rangelist leaves out: a device that sends it is not wrong.
 */
const DOCUMENTED_EXTRA_VALUES: Partial<Record<DdmStatusItem, ReadonlyArray<unknown>>> = {
  "softwareupdate.install-state": ["waiting"],
};

/**
 * Reads one status report as a device sends it (`{"StatusItems": {...},
 * "Errors": [...]}`), validated against Apple's StatusReport schema and each
 * item against its status item schema, in the receive direction (unknown keys
 * allowed). A report that is not one is refused with the reason; an item
 * Apple's schema refuses is left out and named.
 */
export function readStatusReport(value: unknown): StatusReportRead {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, problem: "a status report is a JSON object with StatusItems and Errors" };
  const envelope = compiledFor("ddm/status/statusreport", null, null);
  if (envelope.applicable) {
    const r = envelope.validate(value);
    if (!r.ok) return { ok: false, problem: `not a status report: ${formatViolations(r.violations)}` };
  }
  const statusItems = own(value, "StatusItems");
  const items = new Map<DdmStatusItem, unknown>();
  const invalid: InvalidStatusItem[] = [];
  for (const item of DDM_STATUS_ITEMS) {
    const v = itemAt(statusItems, item);
    if (v === undefined) continue;
    const c = compiledFor(`ddm/status/${item}`, null, null);
    if (!c.applicable) continue;
    const r = c.validate({ [item]: v });
    if (r.ok || DOCUMENTED_EXTRA_VALUES[item]?.includes(v) === true) items.set(item, v);
    else invalid.push({ item, problem: formatViolations(r.violations) });
  }
  const errors: StatusItemError[] = [];
  const list = own(value, "Errors");
  if (Array.isArray(list)) {
    for (const e of list) {
      const reasons = own(e, "Reasons");
      errors.push({
        statusItem: String(own(e, "StatusItem")),
        reasons: Array.isArray(reasons)
          ? reasons.map((r) => {
              const description = own(r, "Description");
              return `${String(own(r, "Code"))}${typeof description === "string" ? `: ${description}` : ""}`;
            })
          : [],
      });
    }
  }
  return { ok: true, items, invalid, errors, fullReport: own(value, "FullReport") === true };
}
