// The OSUpdateStatus MDM command: building it, reading a device's response
// (validated against schemas/os-update-status.yaml in the receive direction),
// and what a ProductKey says about the update it names.
import { randomUUID } from "node:crypto";
import { build as buildPlist } from "plist";
import { EnrollgateError } from "../errors.js";
import { isPlistDict, parsePlistBytes, PlistError, type PlistValue } from "./plist.js";
import type { BandedSchema } from "./schema/banded.js";
import { formatViolations } from "./schema/validator.js";
import { tryParseBuild } from "./build.js";
import { tryParseOsVersion, type OsVersion } from "./version.js";

export const COMMAND_STATUSES = ["Acknowledged", "Error", "CommandFormatError", "NotNow", "Idle"] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** The documented item statuses; others from newer OS versions are kept as they are. */
export const UPDATE_STATUSES = ["Idle", "Downloading", "Installing"] as const;

/** A CommandUUID that cannot be one, or an OSUpdateStatus response that cannot be read. */
export class CommandError extends EnrollgateError<"command-invalid"> {
  override readonly name = "CommandError";

  constructor(message: string) {
    super("command-invalid", message);
  }
}

/** The command plist, ready to queue on any MDM server. */
export function osUpdateStatusCommand(uuid: string = randomUUID().toUpperCase()): {
  readonly commandUUID: string;
  readonly plist: string;
} {
  if (uuid.trim() === "" || uuid.length > 128 || /[\u0000-\u001f]/.test(uuid)) {
    throw new CommandError(`${JSON.stringify(uuid)} cannot be a CommandUUID (1-128 printable characters)`);
  }
  return { commandUUID: uuid, plist: buildPlist({ Command: { RequestType: "OSUpdateStatus" }, CommandUUID: uuid }) };
}

export interface OsUpdateStatusItem {
  readonly productKey: string;
  readonly isDownloaded: boolean;
  /** 0.0 to 1.0, as the device reports it. */
  readonly downloadPercentComplete: number;
  /** Idle, Downloading, Installing, or whatever a newer OS reports. */
  readonly status: string;
  readonly maxDeferrals?: number;
  readonly deferralsRemaining?: number;
  readonly nextScheduledInstall?: Date;
  readonly pastNotifications?: ReadonlyArray<Date>;
}

export interface ErrorChainEntry {
  readonly code: number;
  readonly domain: string;
  readonly description: string;
  readonly usEnglishDescription?: string;
}

export interface OsUpdateStatusResponse {
  readonly commandUUID: string;
  readonly status: CommandStatus;
  readonly udid: string | null;
  readonly items: ReadonlyArray<OsUpdateStatusItem>;
  readonly errorChain: ReadonlyArray<ErrorChainEntry>;
}

function asDate(v: PlistValue | undefined): Date | undefined {
  if (v instanceof Date) return v;
  if (typeof v === "string") {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** Reads a response plist; throws CommandError naming what is wrong. */
export function parseOsUpdateStatusResponse(bytes: Uint8Array, schema: BandedSchema): OsUpdateStatusResponse {
  let value: PlistValue;
  try {
    value = parsePlistBytes(bytes);
  } catch (e) {
    if (e instanceof PlistError) throw new CommandError(e.message);
    throw e;
  }
  if (!isPlistDict(value)) throw new CommandError("the response is not a dictionary");
  // Apple marks OSUpdateStatus required, but a device that answers Error or
  // NotNow sends none: then only the envelope is checked.
  const checked =
    value.Status !== "Acknowledged" && value.OSUpdateStatus === undefined ? { ...value, OSUpdateStatus: [] } : value;
  const compiled = schema.at(null, null);
  if (compiled.applicable) {
    const result = compiled.validate(checked);
    if (!result.ok)
      throw new CommandError(`the response does not match Apple's schema: ${formatViolations(result.violations)}`);
  }
  const dict = value as Record<string, PlistValue>;
  const items = Array.isArray(dict.OSUpdateStatus) ? dict.OSUpdateStatus.filter(isPlistDict) : [];
  const chain = Array.isArray(dict.ErrorChain) ? dict.ErrorChain.filter(isPlistDict) : [];
  return {
    commandUUID: String(dict.CommandUUID),
    status: dict.Status as CommandStatus,
    udid: typeof dict.UDID === "string" ? dict.UDID : null,
    items: items.map((i) => {
      const past = Array.isArray(i.PastNotifications)
        ? i.PastNotifications.map(asDate).filter((d): d is Date => d !== undefined)
        : undefined;
      const next = asDate(i.NextScheduledInstall);
      return {
        productKey: String(i.ProductKey),
        isDownloaded: i.IsDownloaded === true,
        downloadPercentComplete: Number(i.DownloadPercentComplete),
        status: String(i.Status),
        ...(typeof i.MaxDeferrals === "number" ? { maxDeferrals: i.MaxDeferrals } : {}),
        ...(typeof i.DeferralsRemaining === "number" ? { deferralsRemaining: i.DeferralsRemaining } : {}),
        ...(next !== undefined ? { nextScheduledInstall: next } : {}),
        ...(past !== undefined ? { pastNotifications: past } : {}),
      };
    }),
    errorChain: chain.map((c) => ({
      code: Number(c.ErrorCode),
      domain: String(c.ErrorDomain),
      description: String(c.LocalizedDescription),
      ...(typeof c.USEnglishDescription === "string" ? { usEnglishDescription: c.USEnglishDescription } : {}),
    })),
  };
}

export interface ProductKeyInfo {
  /** The build the update installs, when the key names one. */
  readonly build: string | null;
  /** The OS version it installs, when the key names one. */
  readonly version: OsVersion | null;
  /** A security response on top of `version`, its extra letter unknown. */
  readonly securityResponse: boolean;
}

const MSU = /^MSU_UPDATE_([0-9A-Za-z]+)_patch_(\d+(?:\.\d+){0,2})(?:_(minor|major|rsr))?$/;
const MOBILE = /^(?:iOS|iPadOS|tvOS|watchOS|visionOS|xrOS)Update([0-9A-Za-z]+)$/;

/**
 * What a ProductKey names: "MSU_UPDATE_24A335_patch_15.0" a build and a
 * version, "iOSUpdate21G93" a build, "012-40494" nothing.
 */
export function parseProductKey(key: string): ProductKeyInfo {
  const msu = MSU.exec(key);
  if (msu !== null) {
    return {
      build: tryParseBuild(msu[1]) !== null ? (msu[1] ?? null) : null,
      version: tryParseOsVersion(msu[2]),
      securityResponse: msu[3] === "rsr",
    };
  }
  const mobile = MOBILE.exec(key);
  if (mobile !== null && tryParseBuild(mobile[1]) !== null)
    return { build: mobile[1] ?? null, version: null, securityResponse: false };
  return { build: null, version: null, securityResponse: false };
}
