// Verifying a parsed MachineInfo message: exactly one signer, its certificate
// in the message, matching contentType and messageDigest signed attributes
// (when there are signed attributes: macOS sends none), a certificate path
// to a trust anchor validated as RFC 5280 says, validity dates aside
// (chain.ts), and every certificate the message carries accounted for.
//
// The order is the cost order: what is cheap and decides (algorithms, sizes
// of every key the message carries, the signer's identity, the content
// digest) comes before any signature is checked, and the content signature,
// made with the signer's key, comes after the chain has vouched for that key.
import { hash, verify as verifySignature } from "node:crypto";
import { validateChain, type LinkCache } from "./chain.js";
import { CmsError, type SignedData, type SignerInfo } from "./cms.js";
import { keyProblem } from "./key-limits.js";
import type { TrustStore } from "./trust-store.js";
import type { VerificationCode, VerificationFailure } from "./verification-codes.js";
import { Certificate, CertificateError, sameBytes } from "./x509.js";

export { parsePemCertificates, TrustStore } from "./trust-store.js";
export type { LinkCache } from "./chain.js";

const HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

// Signature algorithm → [key type, the hash it names, or null (the digest algorithm's)].
const SIGNATURES: Record<string, readonly ["rsa" | "ec", string | null]> = {
  "1.2.840.113549.1.1.1": ["rsa", null],
  "1.2.840.113549.1.1.5": ["rsa", "sha1"],
  "1.2.840.113549.1.1.11": ["rsa", "sha256"],
  "1.2.840.113549.1.1.12": ["rsa", "sha384"],
  "1.2.840.113549.1.1.13": ["rsa", "sha512"],
  "1.2.840.10045.2.1": ["ec", null],
  "1.2.840.10045.4.1": ["ec", "sha1"],
  "1.2.840.10045.4.3.2": ["ec", "sha256"],
  "1.2.840.10045.4.3.3": ["ec", "sha384"],
  "1.2.840.10045.4.3.4": ["ec", "sha512"],
};

/** State kept across messages; both are optional and only ever make verification cheaper. */
export interface VerifierCaches {
  /** Parsed certificates by the SHA-256 of their DER (only certificates of verified chains are stored). */
  readonly certificates?: {
    get(sha256: string): Certificate | undefined;
    set(sha256: string, cert: Certificate): void;
  };
  /** Certificate-to-key signature checks that passed. */
  readonly links?: LinkCache;
}

export interface SignerIdentity {
  /** The signer certificate's subject, "CN=..., O=...". */
  readonly subject: string;
  /** SHA-256 of the signer certificate's DER, hex. */
  readonly sha256: string;
  /** The trust anchor the chain ends at. */
  readonly anchor: string;
}

export type Verification =
  { readonly ok: true; readonly signer: SignerIdentity } | ({ readonly ok: false } & VerificationFailure);

function fail(code: VerificationCode, detail: string): Verification {
  return { ok: false, code, detail };
}

/** Verifies a parsed message's one signer, its signed attributes, and its chain to the trust store. */
export function verifySignedData(message: SignedData, trust: TrustStore, caches: VerifierCaches = {}): Verification {
  try {
    return verify(message, trust, caches);
  } catch (e) {
    // Extensions are read, and keys imported, only when a check needs them: a corrupt one throws here.
    if (e instanceof CmsError) return fail(e.code, e.message);
    return fail(
      "certificate-unreadable",
      `a certificate in the message cannot be read (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

function certificateOf(der: Uint8Array, caches: VerifierCaches): Certificate {
  const sha256 = hash("sha256", der, "hex");
  return caches.certificates?.get(sha256) ?? Certificate.parse(der);
}

function verify(message: SignedData, trust: TrustStore, caches: VerifierCaches): Verification {
  if (message.signers.length !== 1)
    return fail("signer-count", `the message has ${message.signers.length} signers; MachineInfo has exactly one`);
  const signer = message.signers[0] as SignerInfo;
  if (!message.digestAlgorithms.includes(signer.digestAlgorithm))
    return fail("algorithm-mismatch", "the signer's digest algorithm is not among the message's digest algorithms");
  if (message.digestAlgorithms.length !== 1)
    return fail(
      "uncovered-field",
      "the message announces digest algorithms its signer does not use; no signature covers them",
    );
  const digestName = HASHES[signer.digestAlgorithm];
  if (digestName === undefined)
    return fail("algorithm-unsupported", `unsupported digest algorithm ${signer.digestAlgorithm}`);
  const scheme = SIGNATURES[signer.signatureAlgorithm];
  if (scheme === undefined)
    return fail("algorithm-unsupported", `unsupported signature algorithm ${signer.signatureAlgorithm}`);
  const [keyType, schemeHash] = scheme;

  let certs: Certificate[];
  try {
    certs = message.certificates.map((der) => certificateOf(der, caches));
  } catch (e) {
    if (e instanceof CertificateError)
      return fail("certificate-unreadable", `a certificate in the message cannot be read (${e.message})`);
    throw e;
  }
  // Before any key is used: every key the message carries within bounds.
  for (const cert of certs) {
    const problem = keyProblem(cert.key);
    if (problem !== null) return fail(problem.code, `the certificate "${cert.subjectName}" has ${problem.message}`);
  }
  const matching = certs.filter((c) =>
    "keyId" in signer.sid
      ? c.subjectKeyId !== null && sameBytes(c.subjectKeyId, signer.sid.keyId)
      : sameBytes(c.serial, signer.sid.serial) && sameBytes(c.issuer, signer.sid.issuer),
  );
  if (matching.length === 0)
    return fail("signer-certificate-missing", "the signer's certificate is not in the message");
  if (matching.length > 1)
    return fail("ambiguous-issuer", "two certificates in the message match the signer's identifier");
  const cert = matching[0] as Certificate;
  if (cert.key.type !== keyType)
    return fail(
      "algorithm-mismatch",
      `the signature algorithm needs an ${keyType.toUpperCase()} key, the certificate has ${cert.key.type === "other" ? "another" : cert.key.type}`,
    );

  let signedBytes: Uint8Array = message.content;
  if (signer.signedAttributes !== null) {
    if (signer.contentTypeAttribute !== message.contentType)
      return fail("content-type-mismatch", "the contentType signed attribute is missing or does not match the content");
    if (signer.messageDigest === null)
      return fail("signed-attribute-missing", "the messageDigest signed attribute is missing");
    if (!sameBytes(signer.messageDigest, hash(digestName, message.content, "buffer")))
      return fail("digest-mismatch", "the content does not match the signed messageDigest");
    signedBytes = signer.signedAttributes;
  }

  const chain = validateChain(
    cert,
    certs.filter((c) => c !== cert),
    trust,
    caches.links,
  );
  if (!chain.ok) return fail(chain.code, chain.detail);
  if (!verifySignature(schemeHash ?? digestName, signedBytes, cert.publicKey(), signer.signature))
    return fail("signature-mismatch", "the signature does not match");
  // The CAs recur in every device's message, and a device's own certificate (with its imported key) in each of its
  // messages.
  for (const c of [...chain.path, ...chain.above]) caches.certificates?.set(c.sha256, c);
  return { ok: true, signer: { subject: cert.subjectName, sha256: cert.sha256, anchor: chain.anchor.subjectName } };
}
