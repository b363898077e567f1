// The device table `os-update-status report` and `ddm status` print alike, so
// that a fleet moving from one to the other reads the same columns. Cells
// hold what devices reported (a serial, a model): printed with printable(), so
// that a line feed in one cannot add a row or a CI workflow command.
import { printable } from "../printable.js";

/** One device's row: its name (serial, UDID or file), model, OS, rule, judgement and the detail. */
export type JudgementRow = readonly [string, string, string, string, string, string];

const HEAD: JudgementRow = ["DEVICE", "PRODUCT", "OS", "RULE", "JUDGEMENT", "DETAIL"];

/** Columns padded to their widest cell, the detail last and unpadded. */
export function judgementTable(reported: ReadonlyArray<JudgementRow>): string {
  const rows = reported.map((r) => r.map(printable) as unknown as JudgementRow);
  // A loop, not Math.max(...): a fleet's rows as arguments overflow the stack.
  const widths = HEAD.slice(0, 5).map((h, i) => rows.reduce((w, c) => Math.max(w, (c[i] ?? "").length), h.length));
  const line = (c: JudgementRow) =>
    c
      .map((v, i) => (i < 5 ? v.padEnd(widths[i] ?? 0) : v))
      .join("  ")
      .trimEnd();
  return `${[line(HEAD), ...rows.map(line)].join("\n")}\n`;
}
