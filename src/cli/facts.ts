// Device facts from command-line flags: the same keys MachineInfo carries.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { describedFacts, factsOfMachineInfo } from "../policy/facts.js";
import type { DeviceFacts } from "../policy/model.js";
import { UsageError } from "./io.js";

export interface FactFlags {
  machineInfo?: string;
  product?: string;
  osVersion?: string;
  build?: string;
  serial?: string;
  udid?: string;
  deviceId?: string;
  supplementalExtra?: string;
  supplementalBuild?: string;
  canUpdate?: string | boolean;
}

export function addFactOptions(command: Command): Command {
  return command
    .option("--machine-info <file>", "MachineInfo captured from a device: its XML plist, or the CMS message around it")
    .option("--product <PRODUCT>", "PRODUCT, e.g. iPhone15,2")
    .option("--os-version <version>", "OS_VERSION, e.g. 17.5")
    .option("--build <build>", "VERSION, the installed build, e.g. 21F79")
    .option("--serial <serial>", "SERIAL")
    .option("--udid <udid>", "UDID")
    .option("--device-id <id>", "SOFTWARE_UPDATE_DEVICE_ID (a Mac's board id, e.g. J414sAP)")
    .option("--supplemental-extra <extra>", 'SUPPLEMENTAL_OS_VERSION_EXTRA, e.g. "(a)"')
    .option("--supplemental-build <build>", "SUPPLEMENTAL_BUILD_VERSION")
    .addOption(
      new Option("--can-update [bool]", "MDM_CAN_REQUEST_SOFTWARE_UPDATE (default true with flags)").choices([
        "true",
        "false",
      ]),
    );
}

/** Facts from --machine-info FILE, or from the flags (then --product is required). */
export async function factsFrom(flags: FactFlags, cwd: string): Promise<DeviceFacts> {
  if (flags.machineInfo === undefined) return factsFromFlags(flags);
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(cwd, flags.machineInfo));
  } catch (e) {
    throw new UsageError(
      `cannot read ${flags.machineInfo}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const [{ machineInfoFromFile }, { BandedSchema }, { bundledAppleSchema }] = await Promise.all([
    import("../apple/machine-info.js"),
    import("../apple/schema/banded.js"),
    import("../apple/bundled.js"),
  ]);
  const read = machineInfoFromFile(bytes, new BandedSchema(bundledAppleSchema("machineinfo"), "receive"));
  if (!read.ok) throw new UsageError(`${flags.machineInfo}: ${read.message}`);
  return factsOfMachineInfo(read.machineInfo);
}

/** Facts from flags; --product is required. */
export function factsFromFlags(flags: FactFlags): DeviceFacts {
  if (flags.product === undefined)
    throw new UsageError("describe the device with --product (and --os-version, --build, ...) or --machine-info FILE");
  const { canUpdate, ...rest } = flags;
  return describedFacts({
    ...rest,
    product: flags.product,
    canUpdate: canUpdate === undefined || canUpdate === true || canUpdate === "true",
  });
}
