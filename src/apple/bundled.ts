// The Apple schema documents enrollgate ships in schemas/ and Apple's trust
// anchors in anchors/, read once on first use. They are part of the
// package, like its code; callers may pass their own.
import type { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import jsyaml from "js-yaml";
import { packageFile } from "../paths.js";
import { parseAppleSchema, toAppleSchemaDocument, type AppleSchemaDocument } from "./schema/document.js";
import { markShipped } from "./schema/precompiled.js";
import { parsePemCertificates } from "./trust-store.js";

export type BundledAppleSchema =
  | "softwareupdate.required"
  | "machineinfo"
  | "os-update-status"
  | `ddm/${DdmDeclarationSchema}`
  | `ddm/status/${DdmStatusSchema}`;

/** Apple's declaration schemas enrollgate ships (schemas/ddm/): the 2026 software update ones and what they need. */
export type DdmDeclarationSchema =
  | "declarationbase"
  | "activation.simple"
  | "management.status-subscriptions"
  | "softwareupdate.enforcement.specific"
  | "softwareupdate.settings";

/** Apple's status item schemas enrollgate ships (schemas/ddm/status/), and the status report around them. */
export type DdmStatusSchema = "statusreport" | DdmStatusItem;

/** The status items enrollgate subscribes to and reads. */
export type DdmStatusItem =
  | "device.identifier.udid"
  | "device.identifier.serial-number"
  | "device.model.identifier"
  | "device.operating-system.family"
  | "device.operating-system.version"
  | "device.operating-system.build-version"
  | "device.operating-system.supplemental.build-version"
  | "device.operating-system.supplemental.extra-version"
  | "softwareupdate.device-id"
  | "softwareupdate.install-state"
  | "softwareupdate.pending-version"
  | "softwareupdate.failure-reason"
  | "softwareupdate.install-reason"
  | "softwareupdate.beta-enrollment";

const apple = new Map<BundledAppleSchema, AppleSchemaDocument>();

export function bundledAppleSchema(name: BundledAppleSchema): AppleSchemaDocument {
  let doc = apple.get(name);
  if (doc === undefined) {
    const file = `schemas/${name}.yaml`;
    const text = readFileSync(packageFile(file), "utf8");
    // The shipped schemas use no aliases: js-yaml reads them in a fraction of
    // yaml's time. Anything it cannot read goes through the full parser.
    let value: unknown;
    try {
      value = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
    } catch {
      value = null;
    }
    doc = value === null ? parseAppleSchema(text, file) : toAppleSchemaDocument(value, file);
    markShipped(doc, name);
    apple.set(name, doc);
  }
  return doc;
}

/** What `trustAnchors: [apple]` names, and what verification uses when no anchors are configured. */
export const APPLE_TRUST_ANCHORS = "apple";

let appleAnchors: X509Certificate[] | undefined;

/**
 * anchors/apple.pem: Apple Root CA, Apple iPhone Certification Authority and
 * Apple iPhone Device CA, the public chain of every device identity.
 */
export function appleTrustAnchors(): X509Certificate[] {
  appleAnchors ??= parsePemCertificates(readFileSync(packageFile("anchors/apple.pem"), "utf8"), "anchors/apple.pem");
  return appleAnchors;
}
