// Certificate paths (RFC 5280 6.1, validity dates aside: Apple's device CA
// expired in 2014 and still issues): from a MachineInfo signer to a trust
// anchor through the certificates the message carries, plus the carried
// certificates above that anchor.
//
// An anchor may be pinned to an issuing CA (trust-store.ts): Apple Root CA
// and the iPhone CA vouch for a signer only when its issuer is Apple iPhone
// Device CA, since Apple's root also issues developer certificates whose
// holders have the keys (apple-device-chain.ts).
//
// Cost is the attacker's to choose unless the order of work says otherwise:
//  - the path is built by names and key identifiers alone; two carried
//    certificates that could fill one place are refused before any
//    signature is checked (no device sends such a message);
//  - signatures are checked from the anchor down, so every key used below
//    the anchor has just been vouched for by the key above it: a forged
//    chain fails at its first check, made with a trust anchor's key;
//  - above the anchor, a carried certificate is taken as the anchor's issuer
//    only if its key hashes to the anchor's authority key identifier (RFC
//    5280 4.2.1.2 method 1, which Apple's certificates follow), so no
//    unvouched key is used when the anchor names its issuer's key;
//  - each certificate-key pair is checked once per message, and pairs that
//    verified are remembered across requests (the Device CA and root checks
//    of every device then cost nothing).
//
// What no signature covers: a carried certificate above the anchor is
// checked by its subject name and by its key (the key must verify the
// signature on the certificate below it). Its own bytes are covered only if
// its issuer is available: carried, or a trust anchor (or it is a root and
// verifies itself). When neither is the case, as with anchors {Device CA} and
// a message carrying the iPhone CA but not the root, the rest of that one
// top certificate (serial, validity, issuer name, extensions, its signature)
// is covered by nothing and can change without the message being refused.
// That is accepted, because devices do send such messages and nothing in the
// certificate is trusted or read: trust comes from the anchor below it. A
// top certificate with the name and key of a trust anchor must be that
// anchor byte for byte, so with Apple's anchors (the whole chain) every
// byte of every certificate a genuine message carries is signed.
import { verify } from "node:crypto";
import type { TrustStore } from "./trust-store.js";
import type { VerificationCode, VerificationFailure } from "./verification-codes.js";
import { KEY_USAGE, sameBytes, sameName, X509_OID, type Certificate } from "./x509.js";

/** Certificate-to-key signature checks that passed, remembered across messages. */
export interface LinkCache {
  has(key: string): boolean;
  add(key: string): void;
}

export type ChainOutcome =
  | {
      readonly ok: true;
      /** From the signer up to the anchor (the anchor last). */
      readonly path: ReadonlyArray<Certificate>;
      readonly anchor: Certificate;
      /** Carried certificates above the anchor, lowest first. */
      readonly above: ReadonlyArray<Certificate>;
      /**
       * The top certificate above the anchor when nothing signs it (its issuer
       * is neither carried nor an anchor): only its subject and key are
       * checked, by the signature it makes on the certificate below.
       */
      readonly unvouched: Certificate | null;
    }
  | ({ readonly ok: false } & VerificationFailure);

type Failure = Extract<ChainOutcome, { ok: false }>;

// Certificate signature algorithm → the key it needs and its hash.
const CERTIFICATE_SIGNATURES: Record<string, { readonly key: "rsa" | "ec"; readonly hash: string }> = {
  "1.2.840.113549.1.1.5": { key: "rsa", hash: "sha1" },
  "1.2.840.113549.1.1.11": { key: "rsa", hash: "sha256" },
  "1.2.840.113549.1.1.12": { key: "rsa", hash: "sha384" },
  "1.2.840.113549.1.1.13": { key: "rsa", hash: "sha512" },
  "1.2.840.10045.4.1": { key: "ec", hash: "sha1" },
  "1.2.840.10045.4.3.2": { key: "ec", hash: "sha256" },
  "1.2.840.10045.4.3.3": { key: "ec", hash: "sha384" },
  "1.2.840.10045.4.3.4": { key: "ec", hash: "sha512" },
};

// Critical extensions an issuing certificate may carry: the ones processed
// here, and those that constrain nothing a MachineInfo signature proves.
const UNDERSTOOD_CRITICAL = new Set<string>([
  X509_OID.basicConstraints,
  X509_OID.keyUsage,
  X509_OID.subjectKeyIdentifier,
  X509_OID.authorityKeyIdentifier,
  "2.5.29.37", // extKeyUsage
  "2.5.29.32", // certificatePolicies
  "2.5.29.17", // subjectAltName
  "2.5.29.18", // issuerAltName
]);

const fail = (code: VerificationCode, detail: string): Failure => ({ ok: false, code, detail });

/**
 * Whether `candidate` may be `child`'s issuer by name and key identifier.
 * `byKeyHash`: when the child names its issuer's key, the candidate's key
 * itself must hash to that name (a subject key identifier can be copied).
 */
function namesIssuer(child: Certificate, candidate: Certificate, byKeyHash: boolean): boolean {
  if (!sameName(candidate.subject, child.issuer)) return false;
  const aki = child.authorityKeyId;
  if (aki === null) return true;
  if (byKeyHash) return sameBytes(aki, candidate.keyIdentifier);
  const ski = candidate.subjectKeyId;
  return ski === null || sameBytes(ski, aki);
}

class Validation {
  private readonly checked = new Map<string, boolean>();

  constructor(
    private readonly trust: TrustStore,
    private readonly links: LinkCache | undefined,
  ) {}

  /** Whether `issuer`'s key verifies `child`'s signature; each pair is computed at most once per message. */
  signedBy(child: Certificate, issuer: Certificate): boolean {
    const key = `${child.sha256}>${issuer.keyHash}`;
    const known = this.checked.get(key);
    if (known !== undefined) return known;
    let ok = this.links?.has(key) === true;
    if (!ok) {
      const scheme = CERTIFICATE_SIGNATURES[child.signatureAlgorithm];
      try {
        ok =
          scheme !== undefined &&
          scheme.key === issuer.key.type &&
          verify(scheme.hash, child.tbs, issuer.publicKey(), child.signature);
      } catch {
        ok = false; // a signature OpenSSL cannot even decode
      }
      if (ok) this.links?.add(key);
    }
    this.checked.set(key, ok);
    return ok;
  }

  /**
   * What RFC 5280 6.1.4 forbids in `chain` (leaf first): every certificate
   * that issues another is a CA (basicConstraints CA:TRUE; keyCertSign when
   * keyUsage is present), path length constraints hold, and a certificate
   * without extensions issues only if it is itself a trust anchor.
   */
  constraintProblem(chain: ReadonlyArray<Certificate>): Failure | null {
    for (let j = 1; j < chain.length; j++) {
      const issuer = chain[j] as Certificate;
      const child = chain[j - 1] as Certificate;
      if (CERTIFICATE_SIGNATURES[child.signatureAlgorithm] === undefined) {
        return fail(
          "algorithm-unsupported",
          `"${child.subjectName}" is signed with algorithm ${child.signatureAlgorithm}, which the gate does not verify`,
        );
      }
      const anchor = this.trust.has(issuer);
      if (issuer.extensions === null) {
        if (anchor) continue;
        return fail(
          "ca-constraint",
          `"${issuer.subjectName}" is a version ${issuer.version} certificate without extensions and not a trust anchor, so it cannot issue "${child.subjectName}"`,
        );
      }
      const bc = issuer.basicConstraints;
      if (bc === null || !bc.ca) {
        return fail(
          "ca-constraint",
          `"${issuer.subjectName}" is not a CA (basicConstraints ${bc === null ? "absent" : "CA:FALSE"}), so it cannot issue "${child.subjectName}"`,
        );
      }
      const usage = issuer.keyUsage;
      if (usage !== null && !usage.has(KEY_USAGE.keyCertSign)) {
        return fail(
          "ca-constraint",
          `"${issuer.subjectName}" may not sign certificates (its keyUsage lacks keyCertSign), so it cannot issue "${child.subjectName}"`,
        );
      }
      if (bc.pathLength !== null) {
        // Intermediate CA certificates between this one and the signer, self-issued ones aside.
        const below = chain.slice(1, j).filter((c) => !c.selfIssued).length;
        if (below > bc.pathLength) {
          return fail(
            "path-length",
            `"${issuer.subjectName}" allows ${bc.pathLength} CA certificate${bc.pathLength === 1 ? "" : "s"} below it (pathLenConstraint); this chain has ${below}`,
          );
        }
      }
      if (!anchor) {
        const unknown = issuer.extensions.find((e) => e.critical && !UNDERSTOOD_CRITICAL.has(e.id));
        if (unknown !== undefined)
          return fail(
            "ca-constraint",
            `"${issuer.subjectName}" has a critical extension ${unknown.id} the gate does not process`,
          );
      }
    }
    return null;
  }
}

/**
 * Validates the signer's certificate path to an anchor in `trust` through
 * `carried` (the other certificates in the message), and accounts for every
 * carried certificate: each must be on that path or above its anchor.
 */
export function validateChain(
  signer: Certificate,
  carried: ReadonlyArray<Certificate>,
  trust: TrustStore,
  links?: LinkCache,
): ChainOutcome {
  const v = new Validation(trust, links);

  // 1. The path below the anchor, by names and key identifiers alone.
  const path: Certificate[] = [signer];
  const used = new Set<Certificate>([signer]);
  const endings: Array<{
    readonly level: number;
    readonly anchors: ReadonlyArray<Certificate>;
    readonly itself: boolean;
  }> = [];
  for (;;) {
    const current = path[path.length - 1] as Certificate;
    const self = trust.anchor(current.sha256);
    if (self !== undefined) {
      endings.push({ level: path.length - 1, anchors: [self], itself: true });
      break;
    }
    const anchors = trust.named(current.issuer).filter((a) => namesIssuer(current, a, false));
    if (anchors.length > 0) endings.push({ level: path.length - 1, anchors, itself: false });
    const named = carried.filter(
      (c) => !used.has(c) && trust.anchor(c.sha256) === undefined && sameName(c.subject, current.issuer),
    );
    if (named.length > 1) {
      return fail(
        "ambiguous-issuer",
        `the message carries ${named.length} certificates named "${current.issuerName}", the issuer of "${current.subjectName}"; a device sends one`,
      );
    }
    const next = named[0];
    if (next === undefined || !namesIssuer(current, next, false)) break;
    path.push(next);
    used.add(next);
  }

  // 2. The lowest anchor whose chain holds, checked from the anchor down.
  let found: { chain: Certificate[]; anchor: Certificate } | null = null;
  let failure: Failure | null = null;
  search: for (const ending of endings) {
    for (const anchor of ending.anchors) {
      const chain = ending.itself ? path.slice(0, ending.level + 1) : [...path.slice(0, ending.level + 1), anchor];
      // A pinned anchor (Apple's root) vouches only through its issuing CA: checked before any signature.
      const pin = trust.pinOf(anchor);
      if (pin !== undefined && chain[1]?.keyHash !== pin.issuerKey) {
        const issuer = chain[1];
        failure = fail(
          "issuing-ca",
          `"${signer.subjectName}" is ${issuer === undefined ? "the trust anchor itself" : `issued by "${issuer.subjectName}"`}; the trust anchor "${anchor.subjectName}" vouches for a signer only when its issuer is "${pin.issuerName}"`,
        );
        continue;
      }
      const problem = v.constraintProblem(chain);
      if (problem !== null) {
        failure = problem;
        continue;
      }
      let broken = -1;
      for (let i = chain.length - 2; i >= 0 && broken === -1; i--)
        if (!v.signedBy(chain[i] as Certificate, chain[i + 1] as Certificate)) broken = i;
      if (broken === -1) {
        found = { chain, anchor };
        break search;
      }
      const child = chain[broken] as Certificate;
      const issuer = chain[broken + 1] as Certificate;
      failure = fail(
        "issuer-signature-mismatch",
        `the signature of "${child.subjectName}" does not verify with the key of ${issuer === anchor && !ending.itself ? "the trust anchor " : ""}"${issuer.subjectName}"`,
      );
      // A carried certificate's signature failed: every longer chain holds it too.
      if (issuer !== anchor || ending.itself) return failure;
    }
  }
  if (found === null) {
    const top = path[path.length - 1] as Certificate;
    return (
      failure ??
      fail("chain-unanchored", `no chain from the signer to a trust anchor (stuck at issuer "${top.issuerName}")`)
    );
  }
  const { chain, anchor } = found;

  // 3. Carried certificates above the anchor: its issuer, that one's issuer, ...
  const above: Certificate[] = [];
  let top = anchor;
  let unvouched: Certificate | null = null;
  const onChain = new Set<Certificate>(chain);
  while (!top.selfIssued) {
    const current = top;
    const named = carried.filter(
      (c) => !onChain.has(c) && c.sha256 !== anchor.sha256 && sameName(c.subject, current.issuer),
    );
    if (named.length > 1) {
      return fail(
        "ambiguous-issuer",
        `the message carries ${named.length} certificates named "${current.issuerName}", the issuer of "${current.subjectName}"; a device sends one`,
      );
    }
    const next = named[0];
    if (next === undefined) {
      if (current !== anchor) {
        // Its issuer may be a trust anchor, which then vouches for all of it.
        const anchors = trust.named(current.issuer).filter((a) => namesIssuer(current, a, false));
        if (anchors.length === 0) {
          // Nothing signs it. If it has a trust anchor's name and key, it is
          // that anchor, byte for byte, or an altered copy of it.
          const twin = trust.named(current.subject).find((a) => a.keyHash === current.keyHash);
          if (twin !== undefined && twin.sha256 !== current.sha256) {
            return fail(
              "uncovered-field",
              `"${current.subjectName}", carried above the trust anchor, has the name and key of a trust anchor but other bytes, and nothing signs them`,
            );
          }
          if (twin === undefined) unvouched = current;
        } else if (!anchors.some((a) => v.signedBy(current, a))) {
          return fail(
            "issuer-signature-mismatch",
            `"${current.subjectName}", carried above the trust anchor, does not verify with the key of the trust anchor "${current.issuerName}" that issued it`,
          );
        }
      }
      break;
    }
    // Only the key the certificate below names (when it names one) can be its issuer's.
    if (!namesIssuer(current, next, true)) break;
    const problem = v.constraintProblem([...chain, ...above, next]);
    if (problem !== null) return problem;
    if (!v.signedBy(current, next)) {
      return fail(
        "issuer-signature-mismatch",
        `"${next.subjectName}", carried above the trust anchor, did not sign "${current.subjectName}"`,
      );
    }
    above.push(next);
    onChain.add(next);
    top = next;
  }
  // A root carried above the anchor verifies itself.
  if (top !== anchor && top.selfIssued && !v.signedBy(top, top)) {
    return fail(
      "issuer-signature-mismatch",
      `the root "${top.subjectName}", carried above the trust anchor, does not verify its own signature`,
    );
  }

  // 4. Every carried certificate is on the chain (or is the anchor itself).
  const stray = carried.find((c) => !onChain.has(c) && c.sha256 !== anchor.sha256);
  if (stray !== undefined) {
    return fail(
      "uncovered-field",
      `the message carries a certificate that is not on the signer's chain ("${stray.subjectName}"); no signature covers it`,
    );
  }
  return { ok: true, path: chain, anchor, above, unvouched };
}
