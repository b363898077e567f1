// Facts about an enrolled device from its DeviceInformation response: the
// same keys MachineInfo carries at enrollment, under their MDM names.
import { isPlistDict, parsePlistBytes, PlistError, type PlistValue } from "./plist.js";
import { factsFromRecord } from "../policy/facts.js";
import type { DeviceFacts } from "../policy/model.js";

export class DeviceInformationError extends Error {
  override readonly name = "DeviceInformationError";
}

function str(v: PlistValue | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Facts from a DeviceInformation response plist (its QueryResponses), keyed by UDID. */
export function readDeviceInformation(bytes: Uint8Array): { readonly udid: string | null; readonly facts: DeviceFacts } {
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
  if (product === undefined) throw new DeviceInformationError("QueryResponses has no ProductName (query it to judge the device)");
  for (const key of ["OSVersion", "BuildVersion", "SerialNumber", "SoftwareUpdateDeviceID", "SupplementalBuildVersion", "SupplementalOSVersionExtra", "UDID"]) {
    if (q[key] !== undefined && typeof q[key] !== "string") throw new DeviceInformationError(`QueryResponses.${key} must be a string`);
  }
  const udid = str(value.UDID) ?? str(q.UDID) ?? null;
  const facts = factsFromRecord({ ...q, UDID: udid ?? undefined }, product, true, {
    osVersion: "OSVersion",
    build: "BuildVersion",
    serial: "SerialNumber",
    udid: "UDID",
    deviceId: "SoftwareUpdateDeviceID",
    supplementalExtra: "SupplementalOSVersionExtra",
    supplementalBuild: "SupplementalBuildVersion",
  });
  return { udid, facts };
}
