// Whether a target version is really available to a device: the seam where
// Apple's update feed and the ADU catalog plug in. Compiled into the policy
// set as data; answering never touches the network.
import type { Platform } from "../apple/platform.js";
import type { OsVersion } from "../apple/version.js";
import type { AduReference } from "./model.js";

export interface DeviceIdentity {
  readonly platform: Platform;
  /** PRODUCT */
  readonly product: string;
  /** SOFTWARE_UPDATE_DEVICE_ID (board id on Macs), when the device sent one */
  readonly deviceId: string | null;
}

export interface AvailabilityQuery {
  readonly device: DeviceIdentity;
  readonly version: OsVersion;
  readonly now: number;
  readonly adu: AduReference | null;
}

export type AvailabilityAnswer =
  | { readonly available: true }
  | { readonly available: false; readonly reason: string };

export interface AvailabilitySource {
  /** A name for explanations and logs, e.g. "gdmf 2026-08-22 + adu". */
  readonly name: string;
  check(query: AvailabilityQuery): AvailabilityAnswer;
  /**
   * The newest version available to the device (within `major` when given),
   * for `target: latest` and `latest-in-major`; null when there is none or the
   * source cannot say.
   */
  latest(device: DeviceIdentity, now: number, major: number | null): OsVersion | null;
  /** Whether `latest` can be answered at all. */
  readonly resolvesLatest: boolean;
}

/** No feeds configured: every target is available; latest cannot be resolved. */
export const ALWAYS_AVAILABLE: AvailabilitySource = Object.freeze({
  name: "none",
  check: () => ({ available: true }) as const,
  latest: () => null,
  resolvesLatest: false,
});
