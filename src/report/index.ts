// `enrollgate/report`: each findings formatter on its own, and what they are
// built from, beside formatReport(format, report) in the package root. The
// escaping GitHub workflow commands need, and the link to docs/findings.md
// that SARIF gives each code.

export { formatText } from "./text.js";
export { formatJson } from "./json.js";
export { formatGithub, escapeData, escapeProperty } from "./github.js";
export { formatSarif } from "./sarif.js";
export { formatJunit } from "./junit.js";
export { findingsDocsUrl } from "./docs-url.js";
export type { PackageManifest } from "./docs-url.js";
