// Does a body start like CMS SignedData? ContentInfo is
//   SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
// and SignedData's contentType is 1.2.840.113549.1.7.2, so every encoding any
// CMS reader accepts begins <SEQUENCE> <length> <OID> <length 9> 2A 86 48 86
// F7 0D 01 07 02. The question is what the most lenient reader an upstream
// might use takes for those headers, and that is OpenSSL's (d2i_PKCS7,
// d2i_CMS_ContentInfo): a tag in the high-tag-number form even when it fits
// in one byte, with any number of zero septets in front (3F 10 and 3F 80 10
// are a SEQUENCE, 1F 06 an OID); lengths in the long form with leading
// zeros, up to 127 length octets (FF included, which X.690 reserves); an
// indefinite length on the SEQUENCE. All of those are recognised here. The
// gate's own CMS reader (ber.ts) then refuses them, so such a body is
// answered, never passed on as "not MachineInfo".
//
// At most SIGNED_DATA_PREFIX_MAX bytes are looked at: a prefix still
// undecided there (a tag padded that far) is taken for SignedData, so that no
// padding gets a body past the sniffer.

const SIGNED_DATA_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02] as const;

const SEQUENCE = 0x10;
const OBJECT_IDENTIFIER = 0x06;
const CONSTRUCTED = 0x20;

/**
 * The bytes signedDataPrefix() looks at, at most: two long tags, two 127-octet lengths, the OID, and room for padding.
 */
export const SIGNED_DATA_PREFIX_MAX = 512;

export type PrefixVerdict = "signed-data" | "other" | "need-more";

type Step = { readonly next: number } | null | "bad";

/** A universal tag at `at` in either form, padded or not: where it ends, null when more bytes are needed, or "bad". */
function tagAt(bytes: Uint8Array, at: number, tag: number, constructed: boolean): Step {
  if (at >= bytes.length) return null;
  const identifier = bytes[at] as number;
  const flag = constructed ? CONSTRUCTED : 0;
  if (identifier === (flag | tag)) return { next: at + 1 };
  if (identifier !== (flag | 0x1f)) return "bad";
  // High-tag-number form: zero septets (0x80) in front, then the tag number in the last octet.
  let i = at + 1;
  while (i < bytes.length && bytes[i] === 0x80) i++;
  if (i >= bytes.length) return null;
  return bytes[i] === tag ? { next: i + 1 } : "bad";
}

/** Reads a BER length at `at` as OpenSSL does: its value (-1 for indefinite), or null when more bytes are needed. */
function lengthAt(bytes: Uint8Array, at: number): { value: number; next: number } | null {
  if (at >= bytes.length) return null;
  const first = bytes[at] as number;
  if (first < 0x80) return { value: first, next: at + 1 };
  if (first === 0x80) return { value: -1, next: at + 1 };
  const count = first & 0x7f; // 0xFF too: 127 octets, which OpenSSL reads
  if (at + 1 + count > bytes.length) return null;
  // Leading zero octets are read past; the value only has to fit for the OID's "9".
  let value = 0;
  for (let i = 0; i < count; i++)
    value = Math.min(value * 256 + (bytes[at + 1 + i] as number), Number.MAX_SAFE_INTEGER);
  return { value, next: at + 1 + count };
}

function classify(bytes: Uint8Array): PrefixVerdict {
  if (bytes.length === 0) return "need-more";
  const outerTag = tagAt(bytes, 0, SEQUENCE, true);
  if (outerTag === "bad") return "other";
  if (outerTag === null) return "need-more";
  const outer = lengthAt(bytes, outerTag.next);
  if (outer === null) return "need-more";
  const oidTag = tagAt(bytes, outer.next, OBJECT_IDENTIFIER, false);
  if (oidTag === "bad") return "other";
  if (oidTag === null) return "need-more";
  const oid = lengthAt(bytes, oidTag.next);
  if (oid === null) return "need-more";
  if (oid.value !== SIGNED_DATA_OID.length) return "other";
  for (let i = 0; i < SIGNED_DATA_OID.length; i++) {
    if (oid.next + i >= bytes.length) return "need-more";
    if (bytes[oid.next + i] !== SIGNED_DATA_OID[i]) return "other";
  }
  return "signed-data";
}

/**
 * Classifies the first bytes of a body; "need-more" until they decide, and at the end of the body that means "other".
 */
export function signedDataPrefix(bytes: Uint8Array): PrefixVerdict {
  const head = bytes.length > SIGNED_DATA_PREFIX_MAX ? bytes.subarray(0, SIGNED_DATA_PREFIX_MAX) : bytes;
  const verdict = classify(head);
  // Still undecided after every byte it may look at: padding that long is no other kind of body.
  return verdict === "need-more" && head.length === SIGNED_DATA_PREFIX_MAX ? "signed-data" : verdict;
}
