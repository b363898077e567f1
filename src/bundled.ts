// The schema documents enrollgate ships in schemas/, read once on first use.
// They are part of the package, like its code; callers may pass their own.
import { readFileSync } from "node:fs";
import { packageFile } from "./paths.js";
import { parseAppleSchema, type AppleSchemaDocument } from "./apple/schema/document.js";

export type BundledAppleSchema = "softwareupdate.required" | "machineinfo" | "os-update-status";

const apple = new Map<BundledAppleSchema, AppleSchemaDocument>();

export function bundledAppleSchema(name: BundledAppleSchema): AppleSchemaDocument {
  let doc = apple.get(name);
  if (doc === undefined) {
    const file = `schemas/${name}.yaml`;
    doc = parseAppleSchema(readFileSync(packageFile(file), "utf8"), file);
    apple.set(name, doc);
  }
  return doc;
}

let policy: Record<string, unknown> | undefined;

/** schemas/policy.schema.json: the policy file format. */
export function policyJsonSchema(): Record<string, unknown> {
  policy ??= JSON.parse(readFileSync(packageFile("schemas/policy.schema.json"), "utf8")) as Record<string, unknown>;
  return policy;
}
