// The facts decide() takes, from what describes a device: MachineInfo and
// DeviceInformation under Apple's key names, or a device described by hand (a
// test case's `facts`, check's flags). MDM_CAN_REQUEST_SOFTWARE_UPDATE
// defaults to true for a hand-written device: it is almost always one that
// can update.
import type { DeviceInformation } from "../apple/device-information.js";
import type { MachineInfo } from "../apple/machine-info.js";
import type { DeviceFacts } from "./model.js";

export interface DeviceDescription {
  readonly product: string;
  readonly osVersion?: string | undefined;
  readonly build?: string | undefined;
  readonly serial?: string | undefined;
  readonly udid?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly supplementalExtra?: string | undefined;
  readonly supplementalBuild?: string | undefined;
  readonly canUpdate?: boolean | undefined;
}

const OPTIONAL = [
  "osVersion",
  "build",
  "serial",
  "udid",
  "deviceId",
  "supplementalExtra",
  "supplementalBuild",
] as const;
export type OptionalFact = (typeof OPTIONAL)[number];

/** Facts from a plist's string values, under whatever names the plist uses (MachineInfo's, DeviceInformation's). */
export function factsFromRecord<R extends object>(
  record: R,
  product: string,
  canRequestUpdate: boolean,
  names: Readonly<Record<OptionalFact, keyof R & string>>,
): DeviceFacts {
  const facts: { -readonly [K in keyof DeviceFacts]: DeviceFacts[K] } = { product, canRequestUpdate };
  for (const fact of OPTIONAL) {
    const v: unknown = record[names[fact]];
    if (typeof v === "string" && v !== "") facts[fact] = v;
  }
  return facts;
}

export function describedFacts(d: DeviceDescription): DeviceFacts {
  const sameNames = Object.fromEntries(OPTIONAL.map((f) => [f, f])) as Record<OptionalFact, OptionalFact>;
  return factsFromRecord(d, d.product, d.canUpdate ?? true, sameNames);
}

/** MachineInfo's keys by meaning. A missing MDM_CAN_REQUEST_SOFTWARE_UPDATE is false, Apple's default. */
export function factsOfMachineInfo(info: MachineInfo): DeviceFacts {
  return factsFromRecord(
    info,
    typeof info.PRODUCT === "string" ? info.PRODUCT : "",
    info.MDM_CAN_REQUEST_SOFTWARE_UPDATE === true,
    {
      osVersion: "OS_VERSION",
      build: "VERSION",
      serial: "SERIAL",
      udid: "UDID",
      deviceId: "SOFTWARE_UPDATE_DEVICE_ID",
      supplementalExtra: "SUPPLEMENTAL_OS_VERSION_EXTRA",
      supplementalBuild: "SUPPLEMENTAL_BUILD_VERSION",
    },
  );
}

/**
 * DeviceInformation's keys by meaning. An enrolled device is judged on what it runs, so it counts as one that can be
 * asked to update.
 */
export function factsOfDeviceInformation(info: DeviceInformation): DeviceFacts {
  return factsFromRecord(info, info.ProductName, true, {
    osVersion: "OSVersion",
    build: "BuildVersion",
    serial: "SerialNumber",
    udid: "UDID",
    deviceId: "SoftwareUpdateDeviceID",
    supplementalExtra: "SupplementalOSVersionExtra",
    supplementalBuild: "SupplementalBuildVersion",
  });
}
