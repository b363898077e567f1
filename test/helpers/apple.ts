// Apple-format schema documents written inline in tests.
import { parseAppleSchema, type AppleSchemaDocument } from "../../src/apple/schema/document.js";

export function parseSchemaFreeAppleDoc(text: string): AppleSchemaDocument {
  return parseAppleSchema(text, "inline.yaml");
}
