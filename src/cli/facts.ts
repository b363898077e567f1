// Device facts from command-line flags: the same keys MachineInfo carries.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { parseBuild } from "../apple/build.js";
import { parseOsVersion, VersionError, withSupplementalExtra } from "../apple/version.js";
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

/** The flags that describe a device by hand; --machine-info replaces them all. */
const FACT_FLAGS = [
  ["product", "--product"],
  ["osVersion", "--os-version"],
  ["build", "--build"],
  ["serial", "--serial"],
  ["udid", "--udid"],
  ["deviceId", "--device-id"],
  ["supplementalExtra", "--supplemental-extra"],
  ["supplementalBuild", "--supplemental-build"],
  ["canUpdate", "--can-update"],
] as const;

/** Facts from --machine-info FILE, or from the flags (then --product is required). */
export async function factsFrom(flags: FactFlags, cwd: string): Promise<DeviceFacts> {
  if (flags.machineInfo === undefined) return factsFromFlags(flags);
  // Mixing would leave it unclear which value was decided on: the device's, or the flag's.
  const mixed = FACT_FLAGS.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
  if (mixed.length > 0)
    throw new UsageError(
      `--machine-info describes the whole device; drop ${mixed.join(", ")} (or describe the device with flags alone)`,
    );
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(cwd, flags.machineInfo));
  } catch (e) {
    throw new UsageError(
      `cannot read ${flags.machineInfo}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const [{ machineInfoFromFile }, { BandedSchema }, { bundledAppleSchema }, { capturedMachineInfo }] =
    await Promise.all([
      import("../apple/machine-info.js"),
      import("../apple/schema/banded.js"),
      import("../apple/bundled.js"),
      import("./captured-machine-info.js"),
    ]);
  const unwrapped = capturedMachineInfo(bytes);
  if (!unwrapped.ok) throw new UsageError(`${flags.machineInfo}: ${unwrapped.message}`);
  const read = machineInfoFromFile(unwrapped.bytes, new BandedSchema(bundledAppleSchema("machineinfo"), "receive"));
  if (!read.ok) throw new UsageError(`${flags.machineInfo}: ${read.message}`);
  return factsOfMachineInfo(read.machineInfo);
}

/** Refuses a version or build the gate could not read: deciding on it would explain nothing. */
function checkedFlags(flags: FactFlags): void {
  const problems: string[] = [];
  const attempt = (flag: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof VersionError)) throw e;
      problems.push(`${flag}: ${e.message}`);
    }
  };
  if (flags.osVersion !== undefined) attempt("--os-version", () => parseOsVersion(flags.osVersion));
  if (flags.osVersion !== undefined && flags.supplementalExtra !== undefined && problems.length === 0)
    attempt("--supplemental-extra", () => withSupplementalExtra(flags.osVersion ?? "", flags.supplementalExtra));
  if (flags.build !== undefined) attempt("--build", () => parseBuild(flags.build));
  if (flags.supplementalBuild !== undefined) attempt("--supplemental-build", () => parseBuild(flags.supplementalBuild));
  if (problems.length > 0) throw new UsageError(problems.join("; "));
}

/** Facts from flags; --product is required. */
export function factsFromFlags(flags: FactFlags): DeviceFacts {
  if (flags.product === undefined)
    throw new UsageError("describe the device with --product (and --os-version, --build, ...) or --machine-info FILE");
  checkedFlags(flags);
  const { canUpdate, ...rest } = flags;
  return describedFacts({
    ...rest,
    product: flags.product,
    canUpdate: canUpdate === undefined || canUpdate === true || canUpdate === "true",
  });
}
