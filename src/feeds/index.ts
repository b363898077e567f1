// `enrollgate/feeds`: where targets are checked to be available. Apple's
// GDMF feed (parsed from a snapshot, or fetched) and Azure Device Update (a
// client and catalog snapshots), combined into the availability source that
// compile() takes (`CompileOptions.availability`); SOFA snapshots as the
// vulnerability source (`CompileOptions.vulnerabilities`); and the provider
// the gate and the command line read them through.

// Apple's GDMF feed.
export { parseGdmf, gdmfAvailability, gdmfLatest, gdmfBuildVersion, FeedError } from "./gdmf.js";
export type { GdmfFeed, GdmfRelease, GdmfDevice } from "./gdmf.js";
export { fetchGdmf, GDMF_URL } from "./gdmf-fetch.js";

// Azure Device Update.
export { AduClient, AduError, staticToken, retryAfterMs, ADU_SCOPE, ADU_READ_ROLE } from "./adu-client.js";
export type { AduApi, AduUpdate, AduErrorKind, TokenCredential, AduClientOptions } from "./adu-client.js";
export { parseAduCatalog, serializeAduCatalog, pullAduCatalog, aduAvailability } from "./adu-catalog.js";
export type { AduCatalog, AduCatalogEntry, AduWant } from "./adu-catalog.js";

// SOFA: which actively exploited vulnerabilities each release fixes, and for which devices.
export { parseSofa, SOFA_LIMITS } from "./sofa.js";
export type { SofaFeed, SofaRelease, SofaDevice, SofaCve, SofaKind } from "./sofa.js";
export { openAt, INDEX_WORK_LIMIT } from "./sofa-index.js";
export type { OpenCve, DeviceExposure, ExposureIndex } from "./sofa-index.js";
export { sofaVulnerabilities, sofaModels } from "./vulnerabilities.js";

// Both, as one availability source; and where they come from.
export { feedAvailability } from "./availability.js";
export type { Feeds } from "./availability.js";
export { FeedProvider, resolveFeedConfig, aduCredential } from "./provider.js";
export type { FeedFlags, FeedConfig, FeedProviderOptions } from "./provider.js";
