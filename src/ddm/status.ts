// DDM status reports merged per device. Devices report incrementally: each
// report carries only the items that changed (and a FullReport now and then),
// so what a device runs is the merge of its reports in the order they came.
// A device is known by device.identifier.udid, else its serial number; a
// report that names neither belongs to the device its stream (one file, one
// device's log) named last, or to the device the caller says sent it.
import { readStatusReport, type DdmStatusItem, type StatusItemError } from "../apple/ddm.js";

/** A report as received, with where it came from (for messages) and, when the caller knows it, which device sent it. */
export interface StatusReportInput {
  readonly report: unknown;
  /** Where the report came from, for messages: "reports.jsonl:3". */
  readonly source?: string;
  /** The device that sent it, as the MDM server knows it (its UDID or enrollment id): wins over the report's items. */
  readonly device?: string;
  /** Reports of one stream (a file, one device's log): one that names no device continues the stream's last. */
  readonly stream?: string;
}

/** What is known of one device after its reports. */
export interface DeviceStatus {
  /** The key reports were merged under: the caller's device id, the UDID, or the serial number. */
  readonly key: string;
  readonly udid: string | null;
  readonly serial: string | null;
  readonly items: ReadonlyMap<DdmStatusItem, unknown>;
  /** The status items the device last said it could not return. */
  readonly errors: ReadonlyArray<StatusItemError>;
  /** The sources of the reports merged, in order. */
  readonly sources: ReadonlyArray<string>;
}

/** A report that could not be read (`unreadable`), or an item in one that Apple's schema refuses. */
export interface StatusProblem {
  readonly source: string;
  readonly message: string;
  readonly unreadable: boolean;
}

interface Device {
  key: string;
  udid: string | null;
  serial: string | null;
  items: Map<DdmStatusItem, unknown>;
  errors: Map<string, StatusItemError>;
  sources: string[];
}

function isInput(value: unknown): value is StatusReportInput {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.hasOwn(value, "report") &&
    !Object.hasOwn(value, "StatusItems")
  );
}

function text(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

/** Merges reports per device, in the order given. Pure; never throws on what a report holds. */
export function mergeStatusReports(reports: ReadonlyArray<StatusReportInput | object>): {
  devices: DeviceStatus[];
  problems: StatusProblem[];
} {
  const devices: Device[] = [];
  const byKey = new Map<string, Device>();
  const bySerial = new Map<string, Device>();
  const lastOfStream = new Map<string, Device>();
  const problems: StatusProblem[] = [];
  reports.forEach((entry, i) => {
    const input: StatusReportInput = isInput(entry) ? entry : { report: entry };
    const source = input.source ?? `report ${i + 1}`;
    const read = readStatusReport(input.report);
    if (!read.ok) {
      problems.push({ source, message: read.problem, unreadable: true });
      return;
    }
    const udid = text(read.items.get("device.identifier.udid"));
    const serial = text(read.items.get("device.identifier.serial-number"));
    let device =
      (input.device !== undefined ? byKey.get(input.device) : undefined) ??
      (udid !== null ? byKey.get(udid) : undefined) ??
      (serial !== null ? bySerial.get(serial) : undefined) ??
      (input.device === undefined && udid === null && serial === null && input.stream !== undefined
        ? lastOfStream.get(input.stream)
        : undefined);
    if (device === undefined) {
      const key = input.device ?? udid ?? serial;
      if (key === null) {
        problems.push({
          source,
          message:
            "the report names no device (no device.identifier.udid or serial-number), and no earlier report of its stream did",
          unreadable: true,
        });
        return;
      }
      device = { key, udid, serial, items: new Map(), errors: new Map(), sources: [] };
      devices.push(device);
      byKey.set(key, device);
    }
    if (udid !== null && device.udid === null) {
      device.udid = udid;
      byKey.set(udid, device);
    }
    if (serial !== null && device.serial === null) device.serial = serial;
    if (serial !== null) bySerial.set(serial, device);
    if (input.stream !== undefined) lastOfStream.set(input.stream, device);
    if (read.fullReport) {
      device.items.clear();
      device.errors.clear();
    }
    for (const [item, value] of read.items) {
      device.items.set(item, value);
      device.errors.delete(item);
    }
    for (const e of read.errors) device.errors.set(e.statusItem, e);
    for (const bad of read.invalid)
      problems.push({
        source,
        message: `${bad.item} does not match Apple's schema (${bad.problem}); it is left out`,
        unreadable: false,
      });
    device.sources.push(source);
  });
  return {
    devices: devices.map((d) => ({
      key: d.key,
      udid: d.udid,
      serial: d.serial,
      items: d.items,
      errors: [...d.errors.values()],
      sources: d.sources,
    })),
    problems,
  };
}
