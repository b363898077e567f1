// The public keys the gate will compute with, judged from the
// SubjectPublicKeyInfo before any key is imported or any signature checked:
// an attacker chooses the keys of the certificates a message carries, and a
// 16,384-bit modulus or a huge exponent makes one signature check cost as
// much as a hundred genuine ones.
//
// RSA: a modulus of 1024 to 4096 bits (Apple's device identities and device
// CA are 1024, its other CAs 2048) and an odd public exponent from 3 to
// 2^32 - 1 (65537 in practice; the bound is what Windows' CryptoAPI accepts).
// EC: the named curves P-256 and P-384. Nothing else.
import { X509_OID, type PublicKeyDescription } from "./x509.js";

export const RSA_MIN_BITS = 1024;
export const RSA_MAX_BITS = 4096;
export const RSA_MAX_EXPONENT = 2n ** 32n - 1n;

export type KeyProblemCode = "key-too-small" | "key-too-large" | "key-exponent" | "key-unsupported";

const CURVES: Record<string, { readonly name: string; readonly coordinate: number }> = {
  [X509_OID.p256]: { name: "P-256", coordinate: 32 },
  [X509_OID.p384]: { name: "P-384", coordinate: 48 },
};

const KNOWN_CURVES: Record<string, string> = { [X509_OID.p521]: "P-521", "1.3.132.0.10": "secp256k1" };

/** Why the gate will not use this key, or null when it will. */
export function keyProblem(
  key: PublicKeyDescription,
): { readonly code: KeyProblemCode; readonly message: string } | null {
  if (key.type === "rsa") {
    if (key.bits < RSA_MIN_BITS)
      return {
        code: "key-too-small",
        message: `an RSA key of ${key.bits} bits; at least ${RSA_MIN_BITS} are accepted`,
      };
    if (key.bits > RSA_MAX_BITS)
      return { code: "key-too-large", message: `an RSA key of ${key.bits} bits; at most ${RSA_MAX_BITS} are accepted` };
    const e = key.exponent;
    if (e === null || e < 3n || e > RSA_MAX_EXPONENT || e % 2n === 0n) {
      return {
        code: "key-exponent",
        message: `an RSA public exponent ${e === null ? "longer than 64 bits" : e.toString()}; an odd exponent from 3 to 2^32-1 is accepted`,
      };
    }
    return null;
  }
  if (key.type === "ec") {
    const curve = CURVES[key.curve];
    if (curve === undefined)
      return {
        code: "key-unsupported",
        message: `an EC key on ${KNOWN_CURVES[key.curve] ?? key.curve}; only P-256 and P-384 are accepted`,
      };
    const p = key.point;
    const valid =
      (p.length === 1 + 2 * curve.coordinate && p[0] === 4) ||
      (p.length === 1 + curve.coordinate && (p[0] === 2 || p[0] === 3));
    return valid ? null : { code: "key-unsupported", message: `an EC point that is not on ${curve.name}'s encoding` };
  }
  return {
    code: "key-unsupported",
    message: `a public key of type ${key.algorithm}; only RSA and EC keys are accepted`,
  };
}
