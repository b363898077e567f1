// Verifying a parsed MachineInfo message with Node's native crypto: exactly
// one signer, its certificate in the message, matching contentType and
// messageDigest signed attributes, and a signature-only chain walk to a trust
// anchor that ignores validity dates (Apple's device CA expired in 2014 and
// still issues). Every certificate the message carries must belong to that
// chain: a certificate nothing depends on is a place where bits could change
// unnoticed.
import { createHash, verify as verifySignature, X509Certificate } from "node:crypto";
import { CmsError, type SignedData, type SignerInfo } from "./cms.js";

const HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

// Signature algorithm → [key type, hash or null (use the digest algorithm)].
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

const MAX_CHAIN = 8;

/** Trust anchors, parsed once. */
export class TrustStore {
  private readonly fingerprints: Set<string>;
  constructor(readonly anchors: ReadonlyArray<X509Certificate>) {
    this.fingerprints = new Set(anchors.map((a) => a.fingerprint256));
  }
  has(cert: X509Certificate): boolean {
    return this.fingerprints.has(cert.fingerprint256);
  }
  get size(): number {
    return this.anchors.length;
  }
}

/** Every certificate in PEM text (a bundle may hold several). */
export function parsePemCertificates(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CmsError(`${source} holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new CmsError(`${source}: certificate ${i + 1} cannot be read (${(e as Error).message})`);
    }
  });
}

export type Verification =
  | { readonly verified: true; readonly signer: X509Certificate }
  | { readonly verified: false; readonly problem: string };

function fail(problem: string): Verification {
  return { verified: false, problem };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function issued(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/** The certificates from the signer up to a trust anchor, or why there is no such chain. */
function chainToAnchor(signer: X509Certificate, others: ReadonlyArray<X509Certificate>, trust: TrustStore): { chain: X509Certificate[]; anchor: X509Certificate } | string {
  const chain = [signer];
  let current = signer;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (trust.has(current)) return { chain, anchor: current };
    const anchor = trust.anchors.find((a) => issued(current, a));
    if (anchor !== undefined) return { chain, anchor };
    const issuer = others.find((c) => !chain.includes(c) && issued(current, c));
    if (issuer === undefined) return `no chain from the signer to a trust anchor (stuck at issuer "${current.issuer.replace(/\n/g, ", ")}")`;
    chain.push(issuer);
    current = issuer;
  }
  return `the certificate chain is longer than ${MAX_CHAIN}`;
}

/**
 * Whether every certificate in the message is on the signer's chain or above
 * its anchor (a device may send the root that its configured intermediate
 * chains to). Certificates above the anchor must verify too: up to a root
 * that verifies itself.
 */
function allBelong(certs: ReadonlyArray<X509Certificate>, chain: ReadonlyArray<X509Certificate>, anchor: X509Certificate): boolean {
  const belong = new Set<X509Certificate>(chain);
  let top = anchor;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    for (const c of certs) if (c.fingerprint256 === top.fingerprint256) belong.add(c);
    if (top.checkIssued(top)) {
      // A root: nothing is above it (an altered copy of it only looks like its issuer).
      if (top !== anchor && !top.verify(top.publicKey)) return false;
      break;
    }
    const above = certs.find((c) => !belong.has(c) && issued(top, c));
    if (above === undefined) {
      if (top !== anchor) return false; // its own signature is checked by nothing
      break;
    }
    belong.add(above);
    top = above;
  }
  return certs.every((c) => belong.has(c));
}

/** Verifies a parsed message's one signer, its signed attributes, and its chain to the trust store. */
export function verifySignedData(message: SignedData, trust: TrustStore): Verification {
  try {
    return verify(message, trust);
  } catch (e) {
    // OpenSSL reads a certificate's key only when asked: a corrupt key throws here.
    return fail(`the message cannot be verified (${e instanceof Error ? e.message : String(e)})`);
  }
}

function verify(message: SignedData, trust: TrustStore): Verification {
  if (message.signers.length !== 1) return fail(`the message has ${message.signers.length} signers; MachineInfo has exactly one`);
  const signer = message.signers[0] as SignerInfo;
  if (!message.digestAlgorithms.includes(signer.digestAlgorithm)) return fail("the signer's digest algorithm is not among the message's digest algorithms");
  const index = message.certificates.findIndex(({ fields: f }) => {
    if (f === null) return false;
    return "keyId" in signer.sid ? f.keyId !== null && equalBytes(f.keyId, signer.sid.keyId) : equalBytes(f.serial, signer.sid.serial) && equalBytes(f.issuer, signer.sid.issuer);
  });
  if (index === -1) return fail("the signer's certificate is not in the message");
  let certs: X509Certificate[];
  try {
    certs = message.certificates.map((c) => new X509Certificate(Buffer.from(c.der)));
  } catch (e) {
    return fail(`a certificate in the message cannot be read (${(e as Error).message})`);
  }
  const cert = certs[index] as X509Certificate;
  const digestName = HASHES[signer.digestAlgorithm];
  if (digestName === undefined) return fail(`unsupported digest algorithm ${signer.digestAlgorithm}`);
  const scheme = SIGNATURES[signer.signatureAlgorithm];
  if (scheme === undefined) return fail(`unsupported signature algorithm ${signer.signatureAlgorithm}`);
  const [keyType, schemeHash] = scheme;
  if (cert.publicKey.asymmetricKeyType !== keyType) return fail(`the signature algorithm needs an ${keyType.toUpperCase()} key, the certificate has ${cert.publicKey.asymmetricKeyType ?? "another"}`);

  let signedBytes: Uint8Array = message.content;
  if (signer.signedAttributes !== null) {
    if (signer.contentTypeAttribute !== message.contentType) return fail("the contentType signed attribute is missing or does not match the content");
    if (signer.messageDigest === null) return fail("the messageDigest signed attribute is missing");
    const expected = createHash(digestName).update(message.content).digest();
    if (!equalBytes(signer.messageDigest, expected)) return fail("the content does not match the signed messageDigest");
    signedBytes = signer.signedAttributes;
  }
  if (!verifySignature(schemeHash ?? digestName, signedBytes, cert.publicKey, signer.signature)) return fail("the signature does not match");
  const path = chainToAnchor(cert, certs.filter((_c, i) => i !== index), trust);
  if (typeof path === "string") return fail(path);
  if (!allBelong(certs, path.chain, path.anchor)) return fail("the message carries a certificate that is not on the signer's chain");
  return { verified: true, signer: cert };
}
