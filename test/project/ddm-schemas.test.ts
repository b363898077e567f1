// schemas/ddm/ is Apple's: the 2026 declaration schemas, the declarations and
// status items enrollgate writes and reads, each the same data as Apple's file.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAppleSchema } from "enrollgate/apple";
import { projectPath, readProject } from "../helpers/project.js";
import { readShared } from "../helpers/shared.js";

const DECLARATIONS = ["apple-corpus", "declarative", "declarations"];

/** Where Apple publishes each file schemas/ddm/ ships. */
const APPLE: Record<string, string[]> = {
  "softwareupdate.enforcement.specific.yaml": ["apple", "ddm-2026", "softwareupdate.enforcement.specific.yaml"],
  "softwareupdate.settings.yaml": ["apple", "ddm-2026", "softwareupdate.settings.yaml"],
  "activation.simple.yaml": [...DECLARATIONS, "activations", "simple.yaml"],
  "declarationbase.yaml": [...DECLARATIONS, "declarationbase.yaml"],
  "management.status-subscriptions.yaml": [...DECLARATIONS, "configurations", "management.status-subscriptions.yaml"],
  "status/statusreport.yaml": ["apple-corpus", "declarative", "protocol", "statusreport.yaml"],
};

function appleFileOf(name: string): string[] {
  return APPLE[name] ?? ["apple-corpus", "declarative", "status", name.replace(/^status\//, "")];
}

const shipped = (readdirSync(projectPath("schemas", "ddm"), { recursive: true }) as string[])
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("schemas/ddm/", () => {
  it("ships the declarations enrollgate writes and the status items it reads", () => {
    expect(shipped).toEqual(expect.arrayContaining(Object.keys(APPLE)));
    expect(shipped.filter((f) => f.startsWith("status/softwareupdate.")).length).toBe(6);
  });

  it.each(shipped)("%s is the same data as Apple's file", (name) => {
    const ours = parseAppleSchema(readProject("schemas", "ddm", name), name);
    const apples = parseAppleSchema(readShared(...appleFileOf(name)), name);
    expect(JSON.parse(JSON.stringify(ours))).toEqual(JSON.parse(JSON.stringify(apples)));
  });
});
