// Apple's device identity chain as a policy, not just as anchors. Apple Root
// CA issues much more than device identities: the Worldwide Developer
// Relations and Developer ID CAs below it issue certificates to anyone with
// an Apple developer account (a free one gets "Apple Development"), and those
// holders have the private keys. As a bare RFC 5280 anchor the root would
// vouch for a MachineInfo signed with any of them. Apple's own policy for
// these chains is that the signer's issuer, the first intermediate, is Apple
// iPhone Device CA; so Apple Root CA and Apple iPhone Certification Authority
// vouch for a signer only through that CA's key, wherever the anchors come
// from (the bundle or a file). Keys are named by the SHA-256 of their
// SubjectPublicKeyInfo (Certificate.keyHash), so a re-issued copy of a CA
// with the same key is the same CA.
import type { IssuerPin } from "./trust-store.js";

export const APPLE_ROOT_CA_KEY = "eb4993efa9b089e593418aa893f8e93a7374d810e52fcbe01e7f1d7e92a6d024";
export const APPLE_IPHONE_CA_KEY = "74b67db15c23cc36ab2a356bd1ec2dcb27542e5509b757a9162dbbbe424a4e7c";
export const APPLE_IPHONE_DEVICE_CA_KEY = "13686ec675f9fd26a123adb17b5533f593cf451edd6105ae39b748277a3922e5";

const DEVICE_CA = "Apple iPhone Device CA";

/**
 * Apple Root CA and Apple iPhone Certification Authority anchor device identities only through Apple iPhone Device CA.
 */
export const APPLE_ISSUER_PINS: ReadonlyArray<IssuerPin> = [
  { anchorKey: APPLE_ROOT_CA_KEY, issuerKey: APPLE_IPHONE_DEVICE_CA_KEY, issuerName: DEVICE_CA },
  { anchorKey: APPLE_IPHONE_CA_KEY, issuerKey: APPLE_IPHONE_DEVICE_CA_KEY, issuerName: DEVICE_CA },
];
