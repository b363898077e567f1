// MachineInfo as people capture it: the bytes a device POSTs (DER CMS or the
// XML plist), a PEM block, or the base64 text of the header or query
// parameter (standard or URL-safe, padded or not, wrapped or not, with or
// without the header's name). `check` reads every form the gate accepts.
import { decodeBase64 } from "../gate/transport.js";

/** Far above any MachineInfo (a few KiB; the gate refuses bodies over 64 KiB by default). */
export const MAX_CAPTURED_BYTES = 1024 * 1024;

const HEADER_NAME = /^x-apple-aspen-deviceinfo\s*:\s*/i;
const QUERY_NAME = /^deviceinfo=/;
const PEM = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----\s*$/;

function looksLikeContent(bytes: Uint8Array): boolean {
  if (bytes[0] === 0x30) return true; // DER: a SEQUENCE
  const start = Buffer.from(bytes.subarray(0, 64)).toString("latin1").trimStart();
  return (
    start.startsWith("<") ||
    start.startsWith("\ufeff") ||
    start.startsWith("\u00ef\u00bb\u00bf") ||
    start.startsWith("bplist")
  );
}

export type Captured = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

/** The CMS message or plist inside a captured file, or why there is none. */
export function capturedMachineInfo(bytes: Uint8Array): Captured {
  if (bytes.length > MAX_CAPTURED_BYTES)
    return {
      ok: false,
      message: `the file is ${bytes.length} bytes; MachineInfo is a few KiB (at most ${MAX_CAPTURED_BYTES} bytes are read)`,
    };
  if (bytes.length === 0) return { ok: false, message: "the file is empty" };
  if (looksLikeContent(bytes)) return { ok: true, bytes };
  let text = Buffer.from(bytes).toString("latin1").trim();
  const pem = PEM.exec(text);
  if (pem !== null) {
    const body = decodeBase64(pem[2] ?? "");
    if (body === null) return { ok: false, message: `the PEM block (${pem[1] ?? ""}) is not base64` };
    return { ok: true, bytes: body };
  }
  if (text.startsWith("-----BEGIN"))
    return { ok: false, message: "the PEM block is not closed by a matching -----END line" };
  text = text.replace(HEADER_NAME, "");
  if (QUERY_NAME.test(text)) {
    try {
      text = decodeURIComponent(text.replace(QUERY_NAME, ""));
    } catch {
      return { ok: false, message: "the deviceinfo parameter is not valid percent-encoding" };
    }
  }
  const decoded = decodeBase64(text);
  if (decoded === null || decoded.length === 0)
    return {
      ok: false,
      message:
        "not MachineInfo: expected the XML plist, the CMS message around it (DER or PEM), or its base64 as sent in the x-apple-aspen-deviceinfo header",
    };
  if (!looksLikeContent(decoded))
    return { ok: false, message: "the base64 text decodes to neither a CMS message nor an XML plist" };
  return { ok: true, bytes: decoded };
}
