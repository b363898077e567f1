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

export function describedFacts(d: DeviceDescription): DeviceFacts {
  const facts: { -readonly [K in keyof DeviceFacts]: DeviceFacts[K] } = { product: d.product, canRequestUpdate: d.canUpdate ?? true };
  for (const key of OPTIONAL) {
    const value = d[key];
    if (value !== undefined) facts[key] = value;
  }
  return facts;
}
