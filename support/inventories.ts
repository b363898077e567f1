// Large fleet inventories for `enrollgate diff`, for benchmarks and tests: a
// row per device (each its own serial and UDID), spread over the models and
// OS versions a real fleet has, in the CSV form MDM exports write.

/** Models and the OS versions they run, as in a mixed fleet. */
const FLEET: ReadonlyArray<readonly [model: string, versions: ReadonlyArray<string>]> = [
  ["iPhone15,2", ["26.4", "26.5", "26.6", "26.6.1"]],
  ["iPhone15,3", ["26.5", "26.6.1"]],
  ["iPhone17,3", ["26.4", "26.5", "26.6.1"]],
  ["iPhone11,8", ["18.5", "18.6", "18.7.10"]],
  ["iPad13,16", ["26.2", "26.6", "26.6.1"]],
  ["Mac14,2", ["26.1", "26.3"]],
  ["RealityDevice14,1", ["26.5", "26.6.1"]],
];

/** Every (model, version) pair, in a fixed order: row i is pair i mod the count. */
export const INVENTORY_PAIRS: ReadonlyArray<readonly [string, string]> = FLEET.flatMap(([model, versions]) =>
  versions.map((v) => [model, v] as const),
);

/** A CSV inventory of `rows` devices, one row each (count 1), with a header row. */
export function inventoryCsv(rows: number): string {
  const out = ["product,osVersion,build,serial,udid,deviceId"];
  for (let i = 0; i < rows; i++) {
    const [model, version] = INVENTORY_PAIRS[i % INVENTORY_PAIRS.length] as readonly [string, string];
    const serial = `F${i.toString(36).toUpperCase().padStart(10, "0")}`;
    const udid = `00008120-${i.toString(16).toUpperCase().padStart(16, "0")}`;
    const deviceId = model.startsWith("Mac") ? "J413AP" : model;
    out.push(`"${model}",${version},,${serial},${udid},"${deviceId}"`);
  }
  return `${out.join("\n")}\n`;
}
