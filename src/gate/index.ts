// `enrollgate/gate`: the pieces the middleware and the server are made of,
// for an application that assembles its own. The policy store that compiles
// in a worker and reloads; MachineInfo ingestion from a request; the
// rejection catalogue; proxy trust and client addresses; request targets and
// upstream paths; the verification and certificate caches; metrics and the
// decision logger. The gate itself (enrollmentGate, startServer) is in the
// package root.

export { PolicyStore, TrustAnchorError } from "./policy-store.js";
export type { PolicyStoreOptions, ActiveState, ReloadSuccess } from "./policy-store.js";
export { DEFAULT_COMPILE_LIMITS } from "./compile-in-worker.js";
export { DEFAULT_MAX_CONNECTIONS, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from "./server.js";
// The serve listeners' parts: HTTPS certificates kept in step with their files, and the admin endpoints.
export { readTlsCredentials, ServingCertificate, TlsError, TLS_MIN_VERSION } from "./tls.js";
export type { TlsFiles, TlsCredentials, ServingCertificateOptions } from "./tls.js";
export { adminEndpoints, createAdminServer, DEFAULT_ADMIN_HOST } from "./admin.js";
export type { AdminPath, HealthState } from "./admin.js";

// MachineInfo in a request.
export { ingestMachineInfo } from "./ingest.js";
export type { MachineInfoResult, MachineInfoRejection } from "./ingest.js";
export { decodeBase64 } from "./transport.js";
export type { MachineInfoSource } from "./transport.js";
// Form and JSON bodies: the deviceinfo fields frameworks read as parameters.
export { namesMachineInfo, machineInfoParameters, parameterText } from "./parameter-names.js";
export { fieldBody, machineInfoFields, parsedMachineInfoFields } from "./body-fields.js";
export type { BodyField, FieldBody } from "./body-fields.js";
export { multipartBoundary, readMultipart } from "./multipart.js";
export { asciiCompatible, mediaType, parseParameters } from "./content-type.js";
export { CertificateCache, VerificationCache, LruCache } from "./verification-cache.js";

// What the gate answers and to whom.
export { REJECTIONS } from "./rejections.js";
export type { Rejection, RejectionCode } from "./rejections.js";
export { ProxyTrust, TrustProxyError, clientAddress, plainAddress } from "./trust-proxy.js";
export { parseRequestTarget, upstreamPath } from "./request-target.js";
export type { RequestTarget } from "./request-target.js";

// What it reports.
export { GateMetrics } from "./metrics.js";
export { createLogger, silentLogger } from "./log.js";
