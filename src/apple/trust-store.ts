// The trust anchors MachineInfo signers chain to, parsed once and indexed by
// identity (the SHA-256 of their DER) and by subject name, with the issuer
// pins that narrow what an anchor vouches for (apple-device-chain.ts).
import { X509Certificate } from "node:crypto";
import { APPLE_ISSUER_PINS } from "./apple-device-chain.js";
import { CmsError } from "./cms.js";
import { keyProblem } from "./key-limits.js";
import { Certificate, CertificateError } from "./x509.js";

const nameKey = (name: Uint8Array): string =>
  Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString("latin1");

/**
 * An anchor that vouches for a signer only through one issuing CA: a path
 * ending at an anchor with key `anchorKey` holds only if the signer's issuer
 * has key `issuerKey`. Keys are SHA-256 hashes of SubjectPublicKeyInfo DER.
 */
export interface IssuerPin {
  readonly anchorKey: string;
  readonly issuerKey: string;
  /** How the issuing CA is named in messages. */
  readonly issuerName: string;
}

export interface TrustStoreOptions {
  /** Pins besides Apple's (APPLE_ISSUER_PINS), which always apply. */
  readonly issuerPins?: ReadonlyArray<IssuerPin>;
}

export class TrustStore {
  /** The anchors as given (Node's view of them). */
  readonly anchors: ReadonlyArray<X509Certificate>;
  readonly certificates: ReadonlyArray<Certificate>;
  private readonly byHash = new Map<string, Certificate>();
  private readonly bySubject = new Map<string, Certificate[]>();
  private readonly pins = new Map<string, IssuerPin>();

  /** Throws CmsError for an anchor the gate could never compute with (its key out of bounds, say). */
  constructor(anchors: ReadonlyArray<X509Certificate>, options: TrustStoreOptions = {}) {
    for (const pin of [...APPLE_ISSUER_PINS, ...(options.issuerPins ?? [])]) this.pins.set(pin.anchorKey, pin);
    this.anchors = anchors;
    this.certificates = anchors.map((anchor) => {
      let cert: Certificate;
      try {
        cert = Certificate.parse(anchor.raw);
      } catch (e) {
        if (e instanceof CertificateError)
          throw new CmsError(
            `trust anchor "${anchor.subject.replace(/\n/g, ", ")}" cannot be read: ${e.message}`,
            "certificate-unreadable",
          );
        throw e;
      }
      const problem = keyProblem(cert.key);
      if (problem !== null)
        throw new CmsError(`trust anchor "${cert.subjectName}" has ${problem.message}`, problem.code);
      return cert;
    });
    for (const cert of this.certificates) {
      if (this.byHash.has(cert.sha256)) continue;
      this.byHash.set(cert.sha256, cert);
      const key = nameKey(cert.subject);
      this.bySubject.set(key, [...(this.bySubject.get(key) ?? []), cert]);
    }
  }

  /** The anchor with exactly these bytes (by SHA-256), if it is one. */
  anchor(sha256: string): Certificate | undefined {
    return this.byHash.get(sha256);
  }

  /** Whether a certificate is one of the anchors, byte for byte. */
  has(cert: Certificate | X509Certificate): boolean {
    return this.byHash.has(
      cert instanceof Certificate ? cert.sha256 : cert.fingerprint256.replace(/:/g, "").toLowerCase(),
    );
  }

  /** The issuing CA a path ending at this anchor must go through, if the anchor is pinned. */
  pinOf(anchor: Certificate): IssuerPin | undefined {
    return this.pins.get(anchor.keyHash);
  }

  /** Anchors whose subject is this name. */
  named(name: Uint8Array): ReadonlyArray<Certificate> {
    return this.bySubject.get(nameKey(name)) ?? [];
  }

  get size(): number {
    return this.byHash.size;
  }
}

const PEM_BEGIN = "-----BEGIN CERTIFICATE-----";
const PEM_END = "-----END CERTIFICATE-----";

/**
 * The BEGIN...END blocks of PEM text, in one pass (a lazy regular expression is quadratic on BEGIN lines without an
 * END).
 */
function pemBlocks(pem: string): string[] {
  const blocks: string[] = [];
  for (let at = 0; ;) {
    const begin = pem.indexOf(PEM_BEGIN, at);
    if (begin === -1) return blocks;
    const end = pem.indexOf(PEM_END, begin + PEM_BEGIN.length + 1);
    if (end === -1) return blocks;
    at = end + PEM_END.length;
    blocks.push(pem.slice(begin, at));
  }
}

/**
 * Every certificate in PEM text (a bundle may hold several; text outside the
 * blocks is ignored). The text may be a file a policy names, read on the
 * serving thread: it is scanned once, whatever it holds.
 */
export function parsePemCertificates(pem: string, source: string): X509Certificate[] {
  const blocks = pemBlocks(pem);
  if (blocks.length === 0) throw new CmsError(`${source} holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new CmsError(`${source}: certificate ${i + 1} cannot be read (${(e as Error).message})`);
    }
  });
}
