// Which actively exploited vulnerabilities a device is exposed to: the seam
// where SOFA (enrollgate/feeds) plugs in, as availability does. Compiled into
// the policy set as data; answering never touches the network.
import type { Platform } from "../apple/platform.js";
import type { OsVersion } from "../apple/version.js";
import type { FeedProblem } from "./availability.js";
import type { Rule } from "./model.js";

/** An actively exploited CVE a device is exposed to, and the release that fixes it for that device. */
export interface ExploitedVulnerability {
  readonly cve: string;
  /** The lowest version above the device's that fixes it and that the device can install. */
  readonly fixedIn: string;
  /** In CISA's Known Exploited Vulnerabilities catalog. */
  readonly inKEV: boolean;
}

/** A device as the vulnerability data knows it. */
export interface ExposedDevice {
  readonly platform: Platform;
  /** PRODUCT */
  readonly product: string;
  /** SOFTWARE_UPDATE_DEVICE_ID (a Mac's board id), when known. */
  readonly deviceId: string | null;
}

export interface VulnerabilitySource {
  /** A name for explanations and logs, e.g. "SOFA (2026-08-22)". */
  readonly name: string;
  /** Changes when the data does; part of the policy set's revision. */
  readonly revision: string;
  /**
   * The actively exploited vulnerabilities a device running `version` is
   * exposed to, by CVE id; null when the data does not know the device (its
   * platform or its model).
   */
  exposure(device: ExposedDevice, version: OsVersion): ReadonlyArray<ExploitedVulnerability> | null;
  /** Validate-time checks of a rule (floor-leaves-exploited). */
  checkRule?(rule: Rule): ReadonlyArray<FeedProblem>;
}
