// A device described by hand (a test case's `facts`, check's flags) as the
// facts decide() takes. MDM_CAN_REQUEST_SOFTWARE_UPDATE defaults to true
// here: a hand-written device is almost always one that can update.
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

const OPTIONAL = ["osVersion", "build", "serial", "udid", "deviceId", "supplementalExtra", "supplementalBuild"] as const;
export type OptionalFact = (typeof OPTIONAL)[number];

/** Facts from a plist's string values, under whatever names the plist uses (MachineInfo's, DeviceInformation's). */
export function factsFromRecord(
  record: Readonly<Record<string, unknown>>,
  product: string,
  canRequestUpdate: boolean,
  names: Readonly<Record<OptionalFact, string>>,
): DeviceFacts {
  const facts: { -readonly [K in keyof DeviceFacts]: DeviceFacts[K] } = { product, canRequestUpdate };
  for (const fact of OPTIONAL) {
    const v = record[names[fact]];
    if (typeof v === "string" && v !== "") facts[fact] = v;
  }
  return facts;
}

export function describedFacts(d: DeviceDescription): DeviceFacts {
  const sameNames = Object.fromEntries(OPTIONAL.map((f) => [f, f])) as Record<OptionalFact, string>;
  return factsFromRecord(d as unknown as Readonly<Record<string, unknown>>, d.product, d.canUpdate ?? true, sameNames);
}
