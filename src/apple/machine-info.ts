// MachineInfo: the signed property list a device sends when it asks for its
// enrollment profile. From the CMS bytes to the plist Apple describes: parse,
// verify (per mode), read the plist, validate it against
// schemas/machineinfo.yaml (receive direction). What the keys mean to a
// policy is policy/facts.ts's business; what a refusal is answered with,
// the gate's.
import { CmsError, parseSignedData } from "./cms.js";
import { verifySignedData, type TrustStore, type VerifierCaches } from "./cms-verify.js";
import { isPlistDict, parsePlistBytes, PlistError, type PlistValue } from "./plist.js";
import { platformOfProduct } from "./platform.js";
import type { BandedSchema } from "./schema/banded.js";
import { formatViolations } from "./schema/validator.js";
import type { VerificationCode } from "./verification-codes.js";
import { tryParseOsVersion } from "./version.js";

export type VerifyMode = "enforce" | "audit" | "off";

/**
 * What became of the signature: the three states the decision log and
 * X-Enrollgate-Verification name. Gate handlers read it at
 * res.locals.enrollgate, and the log names its fields (`verificationFailure`,
 * `verificationProblem`), so it keeps `problem` for a failure's detail.
 */
export type VerificationOutcome =
  | { readonly status: "verified"; readonly signer: string }
  | { readonly status: "unverified"; readonly code: VerificationCode; readonly problem: string }
  | { readonly status: "skipped" };

/** MachineInfo as the device sent it, under Apple's key names (PRODUCT, OS_VERSION, SERIAL...). */
export type MachineInfo = { readonly [key: string]: PlistValue };

/**
 * Why a MachineInfo message was refused: not CMS SignedData (`bad-cms`), not
 * a plist enrollgate reads (`bad-plist`), not what Apple's schema describes
 * (`invalid-machine-info`), or its signature not verified under enforce
 * (`unverified`).
 */
export type MachineInfoProblem = "bad-cms" | "bad-plist" | "invalid-machine-info" | "unverified";

export type MachineInfoRead =
  | { readonly ok: true; readonly machineInfo: MachineInfo; readonly verification: VerificationOutcome }
  | {
      readonly ok: false;
      readonly problem: MachineInfoProblem;
      readonly message: string;
      /** Why, as a stable code (for bad-cms and unverified). */
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

const bounded = (text: string): string =>
  text.length <= MACHINE_INFO_MESSAGE_MAX ? text : `${text.slice(0, MACHINE_INFO_MESSAGE_MAX - 1)}…`;

function str(v: PlistValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Reads and validates the plist itself (no signature involved). */
export function readMachineInfoPlist(
  bytes: Uint8Array,
  schema: BandedSchema,
):
  | { ok: true; machineInfo: MachineInfo }
  | { ok: false; problem: "bad-plist" | "invalid-machine-info"; message: string } {
  let value: PlistValue;
  try {
    value = parsePlistBytes(bytes);
  } catch (e) {
    if (e instanceof PlistError) return { ok: false, problem: "bad-plist", message: `MachineInfo: ${e.message}` };
    throw e;
  }
  if (!isPlistDict(value))
    return { ok: false, problem: "bad-plist", message: "MachineInfo: the plist is not a dictionary" };
  const product = str(value.PRODUCT);
  const platform = product === undefined ? null : platformOfProduct(product);
  const os = tryParseOsVersion(value.OS_VERSION);
  const compiled = schema.at(platform, platform === null ? null : os);
  if (compiled.applicable) {
    const result = compiled.validate(value);
    if (!result.ok)
      return {
        ok: false,
        problem: "invalid-machine-info",
        message: `MachineInfo does not match Apple's schema: ${formatViolations(result.violations)}`,
      };
  }
  return { ok: true, machineInfo: value };
}

/** From the CMS bytes a device sent to its MachineInfo, or why it is refused. */
export function readMachineInfo(der: Uint8Array, options: MachineInfoOptions): MachineInfoRead {
  let message;
  try {
    message = parseSignedData(der);
  } catch (e) {
    if (e instanceof CmsError)
      return {
        ok: false,
        problem: "bad-cms",
        message: bounded(`MachineInfo is not a CMS SignedData message: ${e.message}`),
        failure: e.code,
      };
    throw e;
  }
  let verification: VerificationOutcome = { status: "skipped" };
  if (options.mode !== "off") {
    const v = verifySignedData(message, options.trust, options.caches);
    verification = v.ok
      ? { status: "verified", signer: bounded(v.signer.subject) }
      : { status: "unverified", code: v.code, problem: bounded(v.detail) };
    if (!v.ok && options.mode === "enforce") {
      return {
        ok: false,
        problem: "unverified",
        message: bounded(`MachineInfo signature not verified: ${v.detail}`),
        failure: v.code,
      };
    }
  }
  const read = readMachineInfoPlist(message.content, options.schema);
  if (!read.ok) return { ok: false, problem: read.problem, message: bounded(read.message) };
  return { ok: true, machineInfo: read.machineInfo, verification };
}

/**
 * MachineInfo from a file as captured from a device: the XML plist, or the
 * CMS message around it (read, not verified: a file on disk has no
 * transport to trust).
 */
export function machineInfoFromFile(
  bytes: Uint8Array,
  schema: BandedSchema,
): { ok: true; machineInfo: MachineInfo } | { ok: false; message: string } {
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
  return read.ok ? read : { ok: false, message: read.message };
}
