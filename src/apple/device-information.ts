// An enrolled device's DeviceInformation response: the keys enrollgate reads
// from its QueryResponses, the same MachineInfo carries at enrollment, under
// their MDM names.
import { EnrollgateError } from "../errors.js";
import { isPlistDict, parsePlistBytes, PlistError, type PlistValue } from "./plist.js";

export class DeviceInformationError extends EnrollgateError<"device-information-invalid"> {
  override readonly name = "DeviceInformationError";

  constructor(message: string) {
    super("device-information-invalid", message);
  }
}

/** The QueryResponses keys enrollgate reads, under Apple's names; an empty string counts as absent. */
export interface DeviceInformation {
  readonly ProductName: string;
  readonly OSVersion?: string;
  readonly BuildVersion?: string;
  readonly SerialNumber?: string;
  readonly SoftwareUpdateDeviceID?: string;
  readonly SupplementalBuildVersion?: string;
  readonly SupplementalOSVersionExtra?: string;
  /** The response's UDID, else the one in QueryResponses. */
  readonly UDID?: string;
}

const STRING_KEYS = [
  "OSVersion",
  "BuildVersion",
  "SerialNumber",
  "SoftwareUpdateDeviceID",
  "SupplementalBuildVersion",
  "SupplementalOSVersionExtra",
  "UDID",
] as const;

function str(v: PlistValue | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A DeviceInformation response plist (its QueryResponses, or those keys at the top level). */
export function readDeviceInformation(bytes: Uint8Array): DeviceInformation {
  let value: PlistValue;
  try {
    value = parsePlistBytes(bytes);
  } catch (e) {
    if (e instanceof PlistError) throw new DeviceInformationError(e.message);
    throw e;
  }
  if (!isPlistDict(value)) throw new DeviceInformationError("the response is not a dictionary");
  const q = value.QueryResponses === undefined ? value : value.QueryResponses;
  if (!isPlistDict(q)) throw new DeviceInformationError("QueryResponses is not a dictionary");
  const product = str(q.ProductName);
  if (product === undefined)
    throw new DeviceInformationError("QueryResponses has no ProductName (query it to judge the device)");
  const info: { -readonly [K in keyof DeviceInformation]: DeviceInformation[K] } = { ProductName: product };
  for (const key of STRING_KEYS) {
    if (q[key] !== undefined && typeof q[key] !== "string")
      throw new DeviceInformationError(`QueryResponses.${key} must be a string`);
    const v = str(q[key]);
    if (v !== undefined) info[key] = v;
  }
  const udid = str(value.UDID) ?? str(q.UDID);
  if (udid !== undefined) info.UDID = udid;
  return info;
}
