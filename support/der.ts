// DER built and spliced by hand, for tests and benchmarks: values no library
// would produce (a certificate with a 16,384-bit modulus and the signature of
// another key, say) and certificate sets swapped in a signed message, where
// no signature reaches. Definite lengths only.

/** A DER length. */
function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** One DER value: identifier byte(s), definite length, contents. */
export function tlv(identifier: number | ReadonlyArray<number>, ...contents: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(contents);
  return Buffer.concat([
    Buffer.from(typeof identifier === "number" ? [identifier] : identifier),
    Buffer.from(lengthBytes(body.length)),
    body,
  ]);
}

/** An INTEGER from an unsigned big-endian magnitude. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  return tlv(0x02, ((magnitude[0] as number) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

/** A SubjectPublicKeyInfo for an RSA key with any modulus and exponent. */
export function rsaSpki(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  const rsaEncryption = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
  return tlv(
    0x30,
    tlv(0x30, rsaEncryption),
    tlv(0x03, Buffer.from([0]), tlv(0x30, unsignedInteger(modulus), unsignedInteger(exponent))),
  );
}

interface Span {
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function span(bytes: Uint8Array, start: number): Span {
  let pos = start + 1;
  const first = bytes[pos++] as number;
  let length = first;
  if (first > 0x80) {
    length = 0;
    for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + (bytes[pos++] as number);
  } else if (first === 0x80) {
    throw new Error("support/der.ts reads definite lengths only");
  }
  return { start, contentStart: pos, end: pos + length };
}

function children(bytes: Uint8Array, parent: Span): Span[] {
  const out: Span[] = [];
  for (let pos = parent.contentStart; pos < parent.end;) {
    const child = span(bytes, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

const slice = (bytes: Uint8Array, s: Span) => bytes.subarray(s.start, s.end);

/** The certificate with its SubjectPublicKeyInfo replaced (its signature, over the old one, left as it was). */
export function withPublicKey(certificate: Uint8Array, spki: Uint8Array): Uint8Array {
  const [tbs, alg, signature] = children(certificate, span(certificate, 0)) as [Span, Span, Span];
  const fields = children(certificate, tbs).map((f) => slice(certificate, f));
  // version?, serial, signature, issuer, validity, subject, key
  fields[(certificate[tbs.contentStart] === 0xa0 ? 1 : 0) + 5] = spki;
  return tlv(0x30, tlv(0x30, ...fields), slice(certificate, alg), slice(certificate, signature));
}

/** A DER CMS SignedData message carrying exactly these certificates instead of its own. */
export function withCertificates(message: Uint8Array, certificates: ReadonlyArray<Uint8Array>): Uint8Array {
  const [type, explicit] = children(message, span(message, 0)) as [Span, Span];
  const signedData = children(message, explicit)[0] as Span;
  const fields = children(message, signedData).map((f) => slice(message, f));
  const set = tlv(0xa0, ...certificates);
  const at = fields.findIndex((f, i) => i >= 3 && f[0] === 0xa0);
  if (at === -1) fields.splice(3, 0, set);
  else fields[at] = set;
  return tlv(0x30, slice(message, type), tlv(0xa0, tlv(0x30, ...fields)));
}
