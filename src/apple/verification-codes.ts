// Stable codes for why a MachineInfo message was refused, beside the
// human-readable message: logs, metrics and callers can group by them.

export const VERIFICATION_CODES = [
  // The message itself (400 bad-cms).
  "malformed",
  "too-many-certificates",
  "uncovered-field",
  // Verification (403 unverified-machine-info).
  "signer-count",
  "signer-certificate-missing",
  "certificate-unreadable",
  "key-too-small",
  "key-too-large",
  "key-exponent",
  "key-unsupported",
  "algorithm-unsupported",
  "algorithm-mismatch",
  "content-type-mismatch",
  "signed-attribute-missing",
  "digest-mismatch",
  "signature-mismatch",
  "chain-unanchored",
  "ambiguous-issuer",
  "issuer-signature-mismatch",
  "ca-constraint",
  "path-length",
  "issuing-ca",
] as const;

export type VerificationCode = (typeof VERIFICATION_CODES)[number];

/** Why a message or a chain did not verify: the code to group by, and the detail for people. */
export interface VerificationFailure {
  readonly code: VerificationCode;
  readonly detail: string;
}
