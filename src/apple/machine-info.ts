// MachineInfo: the signed property list a device sends when it asks for its
// enrollment profile. From the CMS bytes to the facts decide() takes:
// parse, verify (per mode), read the plist, validate it against
// schemas/machineinfo.yaml (receive direction), map the keys.
import { CmsError, parseSignedData } from "./cms.js";
import { verifySignedData, type TrustStore, type VerifierCaches } from "./cms-verify.js";
import { isPlistDict, parsePlistBytes, PlistError, type PlistValue } from "./plist.js";
import { platformOfProduct } from "./platform.js";
import type { BandedSchema } from "./schema/banded.js";
import { formatViolations } from "./schema/validator.js";
import type { VerificationCode } from "./verification-codes.js";
import { tryParseOsVersion } from "./version.js";
import { factsFromRecord } from "../policy/facts.js";
import type { DeviceFacts } from "../policy/model.js";

export type VerifyMode = "enforce" | "audit" | "off";

export type VerificationOutcome =
  | { readonly status: "verified"; readonly signer: string }
  | { readonly status: "unverified"; readonly code: VerificationCode; readonly problem: string }
  | { readonly status: "skipped" };

export type MachineInfoResult =
  | {
      readonly ok: true;
      readonly facts: DeviceFacts;
      readonly verification: VerificationOutcome;
      readonly machineInfo: { readonly [key: string]: PlistValue };
    }
  | {
      readonly ok: false;
      /** 400: malformed; 403: well-formed but not verified under enforce. */
      readonly status: 400 | 403;
      readonly code: "bad-cms" | "bad-plist" | "invalid-machine-info" | "unverified-machine-info";
      readonly message: string;
      /** Why the message was refused, as a stable code (for bad-cms and unverified-machine-info). */
      readonly failure?: VerificationCode;
    };

export interface MachineInfoOptions {
  readonly mode: VerifyMode;
  readonly trust: TrustStore;
  readonly schema: BandedSchema;
  /** Parsed certificates and verified certificate links, kept across messages. */
  readonly caches?: VerifierCaches;
}

/**
 * The longest message or problem a result carries. They quote what the
 * message holds (a certificate's name, an OID, a plist key), which a sender
 * can make as long as the body limit; results are logged and cached, so the
 * quote stops here.
 */
export const MACHINE_INFO_MESSAGE_MAX = 512;

const bounded = (text: string): string => (text.length <= MACHINE_INFO_MESSAGE_MAX ? text : `${text.slice(0, MACHINE_INFO_MESSAGE_MAX - 1)}…`);

function str(v: PlistValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** MachineInfo's keys by meaning. */
export function factsOf(info: { readonly [key: string]: PlistValue }): DeviceFacts {
  return factsFromRecord(info, str(info.PRODUCT) ?? "", info.MDM_CAN_REQUEST_SOFTWARE_UPDATE === true, {
    osVersion: "OS_VERSION",
    build: "VERSION",
    serial: "SERIAL",
    udid: "UDID",
    deviceId: "SOFTWARE_UPDATE_DEVICE_ID",
    supplementalExtra: "SUPPLEMENTAL_OS_VERSION_EXTRA",
    supplementalBuild: "SUPPLEMENTAL_BUILD_VERSION",
  });
}

/** Reads and validates the plist itself (no signature involved). */
export function readMachineInfoPlist(bytes: Uint8Array, schema: BandedSchema): { ok: true; info: { readonly [key: string]: PlistValue } } | { ok: false; code: "bad-plist" | "invalid-machine-info"; message: string } {
  let value: PlistValue;
  try {
    value = parsePlistBytes(bytes);
  } catch (e) {
    if (e instanceof PlistError) return { ok: false, code: "bad-plist", message: `MachineInfo: ${e.message}` };
    throw e;
  }
  if (!isPlistDict(value)) return { ok: false, code: "bad-plist", message: "MachineInfo: the plist is not a dictionary" };
  const product = str(value.PRODUCT);
  const platform = product === undefined ? null : platformOfProduct(product);
  const os = tryParseOsVersion(value.OS_VERSION);
  const compiled = schema.at(platform, platform === null ? null : os);
  if (compiled.applicable) {
    const result = compiled.validate(value);
    if (!result.valid) return { ok: false, code: "invalid-machine-info", message: `MachineInfo does not match Apple's schema: ${formatViolations(result.violations)}` };
  }
  return { ok: true, info: value };
}

/** From the CMS bytes a device sent to its facts, or the error to answer with. */
export function readMachineInfo(der: Uint8Array, options: MachineInfoOptions): MachineInfoResult {
  let message;
  try {
    message = parseSignedData(der);
  } catch (e) {
    if (e instanceof CmsError) return { ok: false, status: 400, code: "bad-cms", message: bounded(`MachineInfo is not a CMS SignedData message: ${e.message}`), failure: e.code };
    throw e;
  }
  let verification: VerificationOutcome = { status: "skipped" };
  if (options.mode !== "off") {
    const v = verifySignedData(message, options.trust, options.caches);
    verification = v.verified ? { status: "verified", signer: bounded(v.signer.subject) } : { status: "unverified", code: v.code, problem: bounded(v.problem) };
    if (!v.verified && options.mode === "enforce") {
      return { ok: false, status: 403, code: "unverified-machine-info", message: bounded(`MachineInfo signature not verified: ${v.problem}`), failure: v.code };
    }
  }
  const read = readMachineInfoPlist(message.content, options.schema);
  if (!read.ok) return { ok: false, status: 400, code: read.code, message: bounded(read.message) };
  return { ok: true, facts: factsOf(read.info), verification, machineInfo: read.info };
}

/**
 * Facts from a MachineInfo file as captured from a device: the XML plist, or
 * the CMS message around it (read, not verified: a file on disk has no
 * transport to trust).
 */
export function machineInfoFromFile(bytes: Uint8Array, schema: BandedSchema): { ok: true; facts: DeviceFacts } | { ok: false; message: string } {
  let content = bytes;
  const first = Buffer.from(bytes.subarray(0, 64)).toString("latin1").trimStart();
  if (!first.startsWith("<") && !first.startsWith("\ufeff") && !first.startsWith("bplist")) {
    try {
      content = parseSignedData(bytes).content;
    } catch (e) {
      if (e instanceof CmsError) return { ok: false, message: `not an XML plist, nor CMS around one: ${e.message}` };
      throw e;
    }
  }
  const read = readMachineInfoPlist(content, schema);
  return read.ok ? { ok: true, facts: factsOf(read.info) } : { ok: false, message: read.message };
}
