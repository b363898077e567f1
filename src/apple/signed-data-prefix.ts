// Does a body start like CMS SignedData? ContentInfo is
//   SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
// and SignedData's contentType is 1.2.840.113549.1.7.2, so every encoding any
// CMS reader accepts begins 30 <length> 06 <length 9> 2A 86 48 86 F7 0D 01 07 02.
// The lengths are read as BER allows (short, long with leading zeros,
// indefinite for the SEQUENCE), so that no encoding a lenient reader takes
// slips past as "not MachineInfo". At most 265 bytes decide.

const SIGNED_DATA_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02] as const;

/** The most bytes signedDataPrefix() ever needs: two tags, two 127-byte long-form lengths, the OID. */
export const SIGNED_DATA_PREFIX_MAX = 1 + 1 + 126 + 1 + 1 + 126 + SIGNED_DATA_OID.length;

export type PrefixVerdict = "signed-data" | "other" | "need-more";

/** Reads a BER length at `at`: its value (-1 for indefinite), or null when more bytes are needed, or "bad". */
function lengthAt(bytes: Uint8Array, at: number): { value: number; next: number } | null | "bad" {
  if (at >= bytes.length) return null;
  const first = bytes[at] as number;
  if (first < 0x80) return { value: first, next: at + 1 };
  if (first === 0x80) return { value: -1, next: at + 1 };
  if (first === 0xff) return "bad"; // reserved (X.690 8.1.3.5)
  const count = first & 0x7f;
  if (at + 1 + count > bytes.length) return null;
  // Leading zero octets are legal BER; the value only has to fit for the OID's "9".
  let value = 0;
  for (let i = 0; i < count; i++) value = Math.min(value * 256 + (bytes[at + 1 + i] as number), Number.MAX_SAFE_INTEGER);
  return { value, next: at + 1 + count };
}

/** Classifies the first bytes of a body; "need-more" until they decide, and at the end of the body that means "other". */
export function signedDataPrefix(bytes: Uint8Array): PrefixVerdict {
  if (bytes.length === 0) return "need-more";
  if (bytes[0] !== 0x30) return "other";
  const outer = lengthAt(bytes, 1);
  if (outer === null) return "need-more";
  if (outer === "bad") return "other";
  let at = outer.next;
  if (at >= bytes.length) return "need-more";
  if (bytes[at] !== 0x06) return "other";
  const oid = lengthAt(bytes, at + 1);
  if (oid === null) return "need-more";
  if (oid === "bad" || oid.value !== SIGNED_DATA_OID.length) return "other";
  at = oid.next;
  for (let i = 0; i < SIGNED_DATA_OID.length; i++) {
    if (at + i >= bytes.length) return "need-more";
    if (bytes[at + i] !== SIGNED_DATA_OID[i]) return "other";
  }
  return "signed-data";
}
