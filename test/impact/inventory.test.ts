// Inventories for `enrollgate diff`: CSV as MDM exports and spreadsheets
// write it (RFC 4180 quoting, a byte-order mark, CRLF), and the gate's own
// decision log, replayed one vote per device. Bad input is an error naming
// its file and line, never a crash and never a silently dropped row.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasErrorCode, readInventories, type InventoryProblem } from "enrollgate";

const csv = (text: string) => readInventories([{ name: "fleet.csv", text }]);

function problemsOf(text: string, name = "fleet.csv"): InventoryProblem[] {
  try {
    readInventories([{ name, text }]);
  } catch (e) {
    if (hasErrorCode(e, "inventory-invalid")) return [...(e as unknown as { problems: InventoryProblem[] }).problems];
    throw e;
  }
  throw new Error("the inventory was read");
}

describe("an inventory CSV", () => {
  it("reads the columns in any order, only product and osVersion required, count weighting a row", () => {
    const read = csv('count,osVersion,product,serial\n42,18.5,"iPhone15,2",\n,26.5,"iPhone17,3",G7QK21P0XY3D\n');
    expect(read.total).toBe(43);
    expect(read.devices).toEqual([
      { facts: { product: "iPhone15,2", osVersion: "18.5", canRequestUpdate: true }, count: 42 },
      {
        facts: { product: "iPhone17,3", osVersion: "26.5", serial: "G7QK21P0XY3D", canRequestUpdate: true },
        count: 1,
      },
    ]);
  });

  it("reads a byte-order mark, CRLF line ends, quoted quotes and line breaks inside quotes", () => {
    const read = csv(
      '\uFEFFproduct,osVersion,build,deviceId\r\n"iPhone15,2","18.5","22F76",""\r\n\r\n"Mac14,2",15.5,24F74,"J413AP"\r\n',
    );
    expect(read.devices.map((d) => d.facts)).toEqual([
      { product: "iPhone15,2", osVersion: "18.5", build: "22F76", canRequestUpdate: true },
      { product: "Mac14,2", osVersion: "15.5", build: "24F74", deviceId: "J413AP", canRequestUpdate: true },
    ]);
  });

  it("reads every other fact, and canUpdate false", () => {
    const read = csv(
      'product,osVersion,supplementalExtra,supplementalBuild,udid,canUpdate\n"iPhone15,2",18.5,(a),22F770010a,00008120-001A,false\n',
    );
    expect(read.devices[0]?.facts).toEqual({
      product: "iPhone15,2",
      osVersion: "18.5",
      supplementalExtra: "(a)",
      supplementalBuild: "22F770010a",
      udid: "00008120-001A",
      canRequestUpdate: false,
    });
  });

  it("names the columns it does not read, so an MDM export's extra columns are no error", () => {
    const read = csv('product,osVersion,owner,asset tag\n"iPhone15,2",18.5,alice,A-1\n');
    expect(read.ignoredColumns).toEqual([{ file: "fleet.csv", columns: ["owner", "asset tag"] }]);
    expect(read.total).toBe(1);
  });

  it.each([
    ["a header without osVersion", 'product,version\n"iPhone15,2",18.5\n', 1, "the header has no osVersion column"],
    ["a misspelt column", 'product,os_version\n"iPhone15,2",18.5\n', 1, '"os_version" is spelt differently'],
    ["a column twice", 'product,osVersion,product\n"iPhone15,2",18.5,x\n', 1, "column product appears twice"],
    ["an empty file", "", 1, "the file is empty"],
    ["an unquoted model with its comma", "product,osVersion\niPhone15,2,18.5\n", 2, 'quote it, "iPhone15,2"'],
    ["a short row", 'product,osVersion,build\n"iPhone15,2",18.5\n', 2, "the row has 2 fields, the header 3"],
    ["an unclosed quote", 'product,osVersion\n"iPhone15,2",18.5\n"iPhone15,2,18.6\n', 3, "never closed"],
    ["a quote inside a field", 'product,osVersion\niPhone15"2,18.5\n', 2, "a quote inside an unquoted field"],
    ["text after a closing quote", 'product,osVersion\n"iPhone15,2"x,18.5\n', 2, "followed by more text"],
    ["a version that is not one", 'product,osVersion\n"iPhone15,2",18.five\n', 2, 'osVersion "18.five" is not'],
    ["an empty version", 'product,osVersion\n"iPhone15,2",\n', 2, "osVersion is empty"],
    ["a build that is not one", 'product,osVersion,build\n"iPhone15,2",18.5,22-F76\n', 2, 'build "22-F76"'],
    ["a product that is not a model", "product,osVersion\niPhone,18.5\n", 2, 'product "iPhone" is not an Apple model'],
    ["a negative count", 'product,osVersion,count\n"iPhone15,2",18.5,-3\n', 2, 'count "-3" is not a whole number'],
    ["a huge count", 'product,osVersion,count\n"iPhone15,2",18.5,99999999999\n', 2, "is not a whole number"],
    [
      "an extra without a version it fits",
      'product,osVersion,supplementalExtra\n"iPhone15,2",18.5 (a),(b)\n',
      2,
      "already carries",
    ],
    ["a serial with a space", 'product,osVersion,serial\n"iPhone15,2",18.5,G7QK 21P0\n', 2, "serial"],
    ["an escape sequence", 'product,osVersion,serial\n"iPhone15,2",18.5,"\u001b[31mX"\n', 2, "serial"],
    ["canUpdate that is not a boolean", 'product,osVersion,canUpdate\n"iPhone15,2",18.5,yes\n', 2, "canUpdate"],
  ])("refuses %s, at its line", (_what, text, line, message) => {
    const [first] = problemsOf(text);
    expect(first).toMatchObject({ file: "fleet.csv", line });
    expect(first?.message).toContain(message);
  });

  it("refuses an oversized field and an oversized row without reading them whole", () => {
    expect(problemsOf(`product,osVersion\n"iPhone15,2",18.5\n${"A".repeat(5000)},18.5\n`)[0]).toMatchObject({
      line: 3,
      message: expect.stringContaining("longer than 1024 characters"),
    });
    expect(problemsOf(`product,osVersion\n${",".repeat(100)}\n`)[0]?.message).toContain("more than 64 fields");
  });

  it("counts lines across quoted line breaks, so errors point at the right line", () => {
    const text = 'product,osVersion,note\n"iPhone15,2",18.5,"two\r\nlines"\n"iPhone15,2",18.x,C\n';
    expect(problemsOf(text)[0]).toMatchObject({ line: 4 });
  });

  it("lists every bad row (up to a hundred), and says how many more there are", () => {
    const rows = Array.from({ length: 150 }, () => '"iPhone15,2",bad').join("\n");
    let message = "";
    try {
      csv(`product,osVersion\n${rows}\n`);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("fleet.csv:2: osVersion");
    expect(message).toContain("fleet.csv:21: osVersion");
    expect(message).toContain("(and 80 more)");
    expect(message).not.toContain("fleet.csv:22:");
  });

  it("reads any field a spreadsheet can write back as it was written", () => {
    const field = fc.stringMatching(/^[A-Za-z0-9 ,"\r\n-]{0,20}$/);
    fc.assert(
      fc.property(field, (serialish) => {
        const quoted = `"${serialish.replace(/"/g, '""')}"`;
        const text = `product,osVersion,udid\n"iPhone15,2",18.5,${quoted}\n`;
        let read;
        try {
          read = csv(text);
        } catch (e) {
          // Refused as an identifier (spaces, quotes, line breaks), never misread.
          return hasErrorCode(e, "inventory-invalid");
        }
        return (read.devices[0]?.facts.udid ?? "") === serialish.trim();
      }),
      { numRuns: 300 },
    );
  });

  it("survives arbitrary bytes: a clear error or devices, never a crash", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (junk) => {
        try {
          csv(`product,osVersion\n${junk}`);
        } catch (e) {
          return hasErrorCode(e, "inventory-invalid");
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });
});

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    level: 30,
    service: "enrollgate",
    event: "decision",
    decision: "allow",
    reason: "compliant",
    ...fields,
  });

describe("a decision log", () => {
  it("replays what the gate saw: a device that enrolled twice counts once, as it was last seen", () => {
    const log = [
      line({
        time: "2026-11-22T04:00:00.000Z",
        udid: "U1",
        serial: "S1",
        product: "iPhone15,2",
        osVersion: "18.5",
        build: "22F76",
      }),
      line({
        time: "2026-11-22T05:00:00.000Z",
        udid: "U1",
        serial: "S1",
        product: "iPhone15,2",
        osVersion: "18.7",
        build: "22H20",
      }),
      line({
        time: "2026-11-22T04:30:00.000Z",
        udid: "U2",
        product: "iPhone17,3",
        osVersion: "26.5",
        deviceId: "iPhone17,3",
      }),
      JSON.stringify({ level: 30, event: "policy-reload", revision: "abc" }),
      line({ time: "2026-11-22T04:40:00.000Z", product: null, reason: "no-machine-info" }),
      "",
    ].join("\n");
    const read = readInventories([{ name: "gate.log", text: log }]);
    expect(read.total).toBe(2);
    expect(read.folded).toBe(1);
    expect(read.withoutMachineInfo).toBe(1);
    expect(read.devices.map((d) => d.facts)).toEqual([
      { product: "iPhone15,2", osVersion: "18.7", build: "22H20", serial: "S1", udid: "U1", canRequestUpdate: true },
      { product: "iPhone17,3", osVersion: "26.5", udid: "U2", deviceId: "iPhone17,3", canRequestUpdate: true },
    ]);
  });

  it("folds by serial when there is no UDID, across files, by time and then by order", () => {
    const a = line({ time: 2000, serial: "S1", product: "iPhone15,2", osVersion: "18.6" });
    const b = line({ time: 1000, serial: "S1", product: "iPhone15,2", osVersion: "18.5" });
    const c = line({ time: 2000, serial: "S1", product: "iPhone15,2", osVersion: "18.7" });
    const read = readInventories([
      { name: "one.log", text: `${a}\n${b}\n` },
      { name: "two.log", text: `${c}\n` },
    ]);
    expect(read.devices.map((d) => d.facts.osVersion)).toEqual(["18.7"]);
    expect(read.folded).toBe(2);
  });

  it("counts lines that name no device as they are", () => {
    const l = line({ product: "iPhone15,2", osVersion: "18.5" });
    expect(readInventories([{ name: "gate.log", text: `${l}\n${l}\n` }]).total).toBe(2);
  });

  it("takes canUpdate from the line, or from the reason in lines written before the gate logged it", () => {
    const read = readInventories([
      {
        name: "gate.log",
        text: [
          line({ udid: "A", product: "iPhone15,2", osVersion: "18.5", canUpdate: false }),
          line({ udid: "B", product: "iPhone15,2", osVersion: "18.5", reason: "cannot-request-update" }),
          line({ udid: "C", product: "iPhone15,2", osVersion: "18.5", supplementalExtra: "(a)", canUpdate: true }),
        ].join("\n"),
      },
    ]);
    expect(read.devices.map((d) => [d.facts.udid, d.facts.canRequestUpdate, d.facts.supplementalExtra])).toEqual([
      ["A", false, undefined],
      ["B", false, undefined],
      ["C", true, "(a)"],
    ]);
  });

  it.each([
    [
      "a line that is not JSON",
      `${line({ product: "iPhone15,2", osVersion: "18.5" })}\n{"event":"decision",`,
      2,
      "not a JSON object",
    ],
    ["a JSON array", `${line({ product: "iPhone15,2", osVersion: "18.5" })}\n[1,2]`, 2, "not a JSON object"],
    [
      "a number where a version belongs",
      line({ product: "iPhone15,2", osVersion: 18.5 }),
      1,
      '"osVersion" is a number',
    ],
    ["a product that is not a model", line({ product: "<script>", osVersion: "18.5" }), 1, "not an Apple model"],
    [
      "a version that is not one",
      line({ product: "iPhone15,2", osVersion: "18.5; rm -rf" }),
      1,
      "is not an OS version",
    ],
    ["an oversized line", `{"event":"decision","product":"${"A".repeat(70_000)}"}`, 1, "longer than 64 KiB"],
  ])("refuses %s, at its line", (_what, text, at, message) => {
    const [first] = problemsOf(text, "gate.log");
    expect(first).toMatchObject({ file: "gate.log", line: at });
    expect(first?.message).toContain(message);
  });
});
