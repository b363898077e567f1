// Apple-format schema documents written inline in tests.
import { type AppleSchemaDocument, parseAppleSchema } from "enrollgate/apple";

export function parseSchemaFreeAppleDoc(text: string): AppleSchemaDocument {
  return parseAppleSchema(text, "inline.yaml");
}
