// Findings: what validation reports, each at a file, line and column. The
// catalogue below is every code the validator can report, with what it means
// and how to fix it: docs/findings.md is written from it (`npm run docs`),
// SARIF output declares every code as a rule with that help, and tests keep
// the catalogue, the page and the code in step.
import { formatLocation } from "../location.js";

/** An error stops a set (or fails `validate`); a warning does not, unless `--strict`. */
export type Severity = "error" | "warning";

export interface Position {
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly column: number;
}

export interface SourceRange {
  /** Path relative to the policy directory's parent view: what users see. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export interface RelatedLocation extends SourceRange {
  readonly message: string;
}

/** A problem in a policy set, at its place in a file: what `validate` reports. */
export interface Finding extends SourceRange {
  readonly severity: Severity;
  readonly code: FindingCode;
  readonly message: string;
  /** The policy rule id, where one applies. */
  readonly rule?: string;
  readonly related?: ReadonlyArray<RelatedLocation>;
}

/** What the catalogue says about a finding code: docs/findings.md and SARIF are written from it. */
export interface CodeInfo {
  /** The default severity; `--strict` makes every warning an error. */
  readonly severity: Severity;
  /** A few words, as a heading. */
  readonly title: string;
  /** What the finding means and why enrollgate reports it. */
  readonly meaning: string;
  /** How to make it go away. */
  readonly fix: string;
}

export const FINDING_CODES = {
  "yaml-syntax": {
    severity: "error",
    title: "YAML syntax error",
    meaning:
      "The file is not valid YAML (a duplicated key, bad indentation, an unclosed bracket or quote), or holds no YAML document at all. The finding is where the YAML reader stopped.",
    fix: 'Correct the YAML at the line and column named: indent with spaces, never tabs, and start the keys of one mapping in the same column (the finding names the key indented too deep). Inside `{ }` and `[ ]` a comma ends a value, so quote values that hold one (`"iPhone15,2"`).',
  },
  "yaml-aliases": {
    severity: "error",
    title: "Too many YAML aliases",
    meaning:
      'The file uses aliases (`*name`) that would expand to far more than it holds (the "billion laughs" attack); enrollgate stops at the alias instead of expanding it.',
    fix: "Write the values out, or use fewer aliases: policy files rarely need any.",
  },
  "yaml-multiple-documents": {
    severity: "error",
    title: "More than one YAML document",
    meaning: "A `---` line starts a second YAML document in the file; a policy file holds exactly one.",
    fix: "Remove the `---` separator, or move the second document into a file of its own.",
  },
  "yaml-too-deep": {
    severity: "error",
    title: "YAML nested too deeply",
    meaning:
      "The document nests more than 64 levels deep (the finding is at the line where it passes 64). Deeper nesting is refused before any parser builds a tree, so that a file of brackets cannot exhaust the validator or the gate.",
    fix: "Flatten the document: a policy file needs a handful of levels.",
  },
  "file-too-large": {
    severity: "error",
    title: "File too large",
    meaning:
      "A policy file passed to compile() is larger than 16 MiB. (A file read from disk over the limit is reported as `file-unreadable`, before it is read.)",
    fix: "Split the rules across several files in the policy directory.",
  },
  "file-unreadable": {
    severity: "error",
    title: "File unreadable",
    meaning:
      "A `*.yaml` file in the policy directory could not be read: it is not a regular file (a FIFO, a socket, a device), is larger than 16 MiB, is not valid UTF-8, or the operating system refused to open it. The other files are still checked.",
    fix: "Replace it with a regular UTF-8 text file the validator and the gate can read, or remove it from the policy directory.",
  },
  "file-outside-policy-dir": {
    severity: "error",
    title: "Policy file outside the policy directory",
    meaning:
      "A `*.yaml` in the policy directory is a symlink that leads outside it. Policy files are read only inside the policy directory, so that a change in git cannot make the gate read the server's own files.",
    fix: "Copy the file into the policy directory, or point the symlink at a file inside it.",
  },
  "empty-rule-file": {
    severity: "error",
    title: "Empty rule file",
    meaning:
      "A rule file holds nothing but comments or whitespace. An accidentally emptied file would otherwise take its rules out of the set without a word.",
    fix: "Restore the rules, delete the file, or write `rules: []` to enforce nothing on purpose.",
  },
  "no-rule-files": {
    severity: "error",
    title: "No rule files",
    meaning:
      "The policy directory holds no rule file (`*.yaml` other than `*.test.yaml` and `enrollgate.yaml`). An empty set would allow every device, and is far more often a checkout gone wrong than a wish.",
    fix: "Check that the directory is the policy directory; to enforce nothing on purpose, write `rules: []` in a rule file.",
  },
  "schema-unknown-key": {
    severity: "error",
    title: "Unknown key",
    meaning:
      "The key is not part of the policy format (`schemas/policy.schema.json`), usually a misspelling; enrollgate suggests the nearest key it knows.",
    fix: "Correct the key's spelling, or remove it. The `$schema` comment at the top of each file lets an editor complete keys as you type.",
  },
  "schema-missing-key": {
    severity: "error",
    title: "Missing key",
    meaning:
      "A required key is missing: a rule needs `id`, `platform` and `minimum`; a test case `name`, `facts` (with `product`) and `expect` (with `decision` and `reason`); a rule file `rules` and a test file `cases`.",
    fix: "Add the key named in the message to the mapping the finding points at.",
  },
  "schema-type": {
    severity: "error",
    title: "Wrong type",
    meaning:
      "The value has the wrong type for its key: a string where a list belongs, a number where a string does, and so on.",
    fix: 'Write the value as the type the message names; for example `models: ["iPhone15,*"]` is a list, even with one glob.',
  },
  "schema-value": {
    severity: "error",
    title: "Invalid value",
    meaning:
      "The value has the right type but is not allowed here: not one of the key's values (a `platform` of `iphone`), not of the required form (a rule id with capitals), or a list that names the same value twice.",
    fix: "Use one of the values the message lists (it suggests the nearest), or the form it names.",
  },
  "version-not-string": {
    severity: "error",
    title: "Version written as a YAML number",
    meaning:
      "A version is written without quotes, so YAML reads it as a number: `17.10` is the number 17.1. enrollgate never converts it back, since it cannot know what was meant.",
    fix: 'Quote versions: `minimum: "17.10"`.',
  },
  "invalid-version": {
    severity: "error",
    title: "Invalid OS version",
    meaning:
      "The string is not an Apple OS version: `MAJOR[.MINOR[.PATCH]]`, optionally followed by a supplemental extra such as ` (a)`.",
    fix: 'Write the version as Apple publishes it, for example `"17.6.1"` or `"17.6.1 (a)"`.',
  },
  "invalid-build": {
    severity: "error",
    title: "Invalid build number",
    meaning:
      "The value is not an Apple build number (`TRAIN LETTER NUMBER [suffix]`, such as `21G93`, `20A242a` or the seed `21E5212f`), or is written as a YAML number.",
    fix: 'Write the build as a quoted string, as Apple publishes it: `minimumBuild: "21G93"`.',
  },
  "invalid-date": {
    severity: "error",
    title: "Invalid date",
    meaning:
      "The value is not a date: dates are `YYYY-MM-DD` (a day, in UTC) or an RFC 3339 date-time, and must exist (no February 30).",
    fix: "Write the date as `YYYY-MM-DD`, for example `activeFrom: 2026-12-01`.",
  },
  "duplicate-rule-id": {
    severity: "error",
    title: "Duplicate rule id",
    meaning:
      "Two rules share an id. Ids name rules in decisions, logs, metrics and test expectations, so they are unique across the whole policy set; the finding is reported at every place the id is defined.",
    fix: "Rename one of the rules (and the test cases that expect it).",
  },
  "target-below-minimum": {
    severity: "error",
    title: "Target below minimum",
    meaning:
      "The rule asks devices to install a `target` below its `minimum` (or a `targetBuild` below its `minimumBuild`): a device that installs it would still be blocked, and would be asked again.",
    fix: "Raise the target to at least the minimum, or drop `target` so that the minimum is the target.",
  },
  "literal-beta-token": {
    severity: "error",
    title: "Beta token in git",
    meaning:
      "`betaProgram.token` is a literal string. A beta program token is a secret; it never lives in the policy repository.",
    fix: "Name where the gate reads it: `token: { env: IOS26_BETA_TOKEN }` (a variable named `BETA_TOKEN` or ending in `_BETA_TOKEN`) or `token: { file: PATH }` (inside the policy directory or a `--secrets-dir`).",
  },
  "token-file-refused": {
    severity: "error",
    title: "Token file refused",
    meaning:
      "The beta token file is outside the policy directory and the directories the operator names with `--secrets-dir`, or is not a regular file. The gate never reads such a file, on any machine: a token file is sent in the 403 body, so a policy must not be able to name the server's own files.",
    fix: "Put the token file in a directory the operator names with `--secrets-dir` (or `secretsDirs`), and name it from there.",
  },
  "token-env-refused": {
    severity: "error",
    title: "Token variable refused",
    meaning:
      "The beta token comes from an environment variable whose name is not `BETA_TOKEN` and does not end in `_BETA_TOKEN`. The gate's environment holds the server's other secrets (its ADU token, cloud credentials), and a token is sent in the 403 body, so the gate never reads any other variable a policy names.",
    fix: "Rename the variable, for example `IOS26_BETA_TOKEN`, where the gate runs and in the policy.",
  },
  "trust-anchor-refused": {
    severity: "error",
    title: "Trust anchor file refused",
    meaning:
      "A trust anchor file that `enrollgate.yaml` names is outside the policy directory and the `--secrets-dir` directories, or is not a regular file.",
    fix: "Move the PEM file into the policy directory or a `--secrets-dir`, or give it on the command line with `--trust-anchor` (the operator's paths may be anywhere).",
  },
  "tls-file-refused": {
    severity: "error",
    title: "TLS file refused",
    meaning:
      "A certificate or key file that `enrollgate.yaml`'s `tls` names is outside the policy directory and the `--secrets-dir` directories, is not a regular file, or is larger than a certificate (1 MiB) or a key (64 KiB) may be.",
    fix: "Mount the certificate and key in a `--secrets-dir` (a Kubernetes Secret, a systemd credential directory) and name them there, or give them on the command line with `--tls-cert` and `--tls-key` (the operator's paths may be anywhere). Never commit the key to the policy repository.",
  },
  "trust-anchor-missing": {
    severity: "error",
    title: "Trust anchor file missing",
    meaning:
      "A trust anchor file that `enrollgate.yaml` names does not exist or cannot be read here. The gate will not load the set without it. An error when the path is inside the policy directory (the repository holds the file or nothing does) and for the gate; a warning from `validate` elsewhere, where it may be a secret mounted only on the gate's machine.",
    fix: "Correct the path, commit the PEM file into the policy directory, or in CI pass the directory it is in with `--secrets-dir`.",
  },
  "trust-anchor-invalid": {
    severity: "error",
    title: "Trust anchor holds no certificate",
    meaning:
      "A trust anchor that `enrollgate.yaml` names holds no PEM certificate, or a certificate that cannot be read. The gate will not load the set.",
    fix: "Name a PEM file with one or more `-----BEGIN CERTIFICATE-----` blocks (a private key or a DER file is not a trust anchor).",
  },
  "beta-token-unset": {
    severity: "warning",
    title: "Beta token not available",
    meaning:
      "The beta token's environment variable is not set, or its file cannot be read, here. `validate` warns (CI has no secrets); the gate refuses to serve a set whose token it cannot read, and reports this as an error.",
    fix: "Provide the variable or file where the gate runs; in CI, pass the secrets directory with `--secrets-dir` or ignore the warning.",
  },
  "model-never-matches": {
    severity: "error",
    title: "Model glob never matches",
    meaning:
      "No device of the rule's platform has a PRODUCT or SOFTWARE_UPDATE_DEVICE_ID this glob can match, such as `Mac*` on an iOS rule, so the glob is dead.",
    fix: "Correct the glob, or move it to a rule of the platform it names.",
  },
  "exemption-expired": {
    severity: "warning",
    title: "Exemption expired",
    meaning: "The exemption's `until` day has passed (at `--now`), so the serials it lists are no longer exempt.",
    fix: "Remove the exemption, or extend `until` if the devices still need it.",
  },
  "rule-unreachable": {
    severity: "warning",
    title: "Rule unreachable",
    meaning:
      "A stricter rule of the same scope (the same platform and the same `models`), active at least as long and exempting no more devices, always decides first, so this rule never decides.",
    fix: "Remove the rule, or give the two rules the models each is meant for.",
  },
  "beta-program-unsupported": {
    severity: "warning",
    title: "Beta program cannot be sent",
    meaning:
      "No device this rule blocks runs an OS that accepts `details.RequireBetaProgram` (iOS 17.5, macOS 14.5 and visionOS 26 and later), so the 403 will never carry the beta program.",
    fix: "Raise the minimum above the first OS version that accepts the key, or remove `betaProgram`.",
  },
  "target-needs-feed": {
    severity: "error",
    title: "Target needs the GDMF feed",
    meaning:
      "`target: latest` and `target: latest-in-major` are resolved per device from Apple's GDMF feed, and none is configured.",
    fix: "Configure a feed (`--gdmf FILE`, or `feeds.gdmf` in `enrollgate.yaml`), or name the target version.",
  },
  "body-invalid": {
    severity: "error",
    title: "403 body fails Apple's schema",
    meaning:
      "The 403 body the rule would send fails Apple's schema for the error (`schemas/softwareupdate.required.yaml`) for some OS band of its platform. Every body is checked at compile time, so a device never receives one it cannot read.",
    fix: "Change the value the message names (a `message`, `description`, version or build Apple's schema does not accept).",
  },
  "test-unknown-rule": {
    severity: "error",
    title: "Test names an unknown rule",
    meaning: "A test case expects a rule id that no policy file defines, usually a rule renamed or removed.",
    fix: "Correct the id in `expect.rule`, or `rule: null` when no rule should decide.",
  },
  "test-duplicate-name": {
    severity: "error",
    title: "Test case name used twice",
    meaning:
      "Two test cases of the policy set have the same name. Names are how `enrollgate test`, JUnit reports and CI annotations tell cases apart: a failure under a shared name points at either.",
    fix: "Give every case its own name; say what the case proves (`an iPhone 16 on 26.5 is asked for 26.6.1`).",
  },
  "test-no-cases": {
    severity: "error",
    title: "Test file without cases",
    meaning:
      "A test file is empty, only comments, or has `cases: []`, or `enrollgate test` found no `*.test.yaml` file at all. A test file without cases proves nothing, and an emptied one would pass unnoticed.",
    fix: "Write at least one case, or delete the file.",
  },
  "rule-untested": {
    severity: "error",
    title: "Rule without a test case",
    meaning:
      "With `enrollgate test --require-tests`, every rule needs a test case whose `expect.rule` names it, so that a change to the rule shows up as a changed test in review.",
    fix: "Add a case that expects the rule to decide.",
  },
  "target-not-in-feed": {
    severity: "error",
    title: "Target not in Apple's feed",
    meaning:
      "Apple's GDMF feed does not list the rule's target version for its platform (reported at `target`, or at `minimum` when the target is the minimum), so no device could install it; for `target: latest` or `latest-in-major`, the feed offers no version at or above the minimum.",
    fix: "Use a version Apple offers, or refresh the snapshot if the release is new.",
  },
  "target-expired": {
    severity: "error",
    title: "Target no longer offered",
    meaning:
      "Apple's GDMF feed lists the target version only with an `ExpirationDate` that has passed at `--now`: Apple no longer offers it.",
    fix: "Move the target to a version Apple still offers.",
  },
  "models-without-target": {
    severity: "warning",
    title: "Models that cannot install the target",
    meaning:
      "Apple's GDMF feed lists models the rule matches on its platform, but does not offer them the target version; the message says what `whenUnavailable` does for them.",
    fix: "Narrow the rule's models, add a rule with a floor those models can reach, or set `whenUnavailable` to what you want for them.",
  },
  "floor-leaves-exploited": {
    severity: "warning",
    title: "Minimum leaves actively exploited vulnerabilities open",
    meaning:
      "Per the SOFA feed, a release above the rule's minimum fixes CVEs that are actively exploited, for models the rule matches and that can install that release, and no release of the minimum's own major version at or below it fixes them for those models: a device at the minimum enrolls exposed. Releases are matched to models by the devices they list (board ids on Macs), never by version number alone. The message names the CVEs, the release that fixes each, and a minimum that closes them all when there is one.",
    fix: "Raise the minimum to the release named for each CVE, or to the minimum the message suggests. It is a warning (an error under `--strict`), and a running gate logs it whenever a reload changes the set.",
  },
  "model-case-mismatch": {
    severity: "warning",
    title: "Model in the wrong letter case",
    meaning:
      "A model in the rule's `models` matches no device of its platform in Apple's GDMF feed, but matches one when letter case is ignored (`J414SAP` for the board id `J414sAP`). Models match exactly, so the rule never applies to that device.",
    fix: "Write the model as the feed spells it.",
  },
  "adu-update-missing": {
    severity: "error",
    title: "ADU update not imported",
    meaning:
      "The rule's Azure Device Update update at the target version is not imported into the ADU instance (reported at `adu`).",
    fix: "Import the update into ADU, or correct the rule's `adu` provider and name.",
  },
  "adu-incompatible": {
    severity: "error",
    title: "ADU update not compatible",
    meaning: "The ADU update has no compatibility entry whose manufacturer and model equal a model the rule names.",
    fix: "Add the model to the update's compatibility in its import manifest, or correct the rule's models or `adu.manufacturer`.",
  },
  "adu-case-mismatch": {
    severity: "warning",
    title: "ADU compatibility differs in letter case",
    meaning:
      "A compatibility entry matches a model only when letter case is ignored. ADU matches exactly, so it does not count as a match.",
    fix: "Make the compatibility entry's letter case match the model's.",
  },
  "adu-unknown": {
    severity: "warning",
    title: "ADU could not be asked",
    meaning:
      "Azure Device Update could not be reached, or did not answer for this update, so whether the target is imported is unknown.",
    fix: "Check the ADU URL, instance and credentials (the identity needs the Device Update Content Reader role); under `--strict` this is an error.",
  },
  "invalid-deadline": {
    severity: "error",
    title: "Invalid deadline",
    meaning:
      "An `enrolled` block's `deadline` is not one: a date-time on the device's own clock such as `2026-12-15T18:00:00` (Apple's `TargetLocalDateTime` has no time zone), or `{ daysAfterRelease: N, at: \"HH:MM\" }`. A time zone (`Z`, `+01:00`), a date without a time, an impossible date or time, and `at` without `daysAfterRelease` are each reported with what to write instead.",
    fix: "Write the deadline as the message shows, in the device's local time.",
  },
  "deadline-both-ways": {
    severity: "error",
    title: "Deadline given both ways",
    meaning:
      "The deadline names both a date (`at: 2026-12-15T18:00:00`) and a number of days after release (`daysAfterRelease`). They would disagree as soon as Apple's release date is known, so enrollgate takes neither.",
    fix: 'Keep one: `deadline: 2026-12-15T18:00:00`, or `deadline: { daysAfterRelease: 14, at: "18:00" }`.',
  },
  "deadline-needs-feed": {
    severity: "error",
    title: "Deadline needs the GDMF feed",
    meaning:
      "`deadline: { daysAfterRelease: N }` counts from the day Apple released the target, its `PostingDate` in Apple's GDMF feed, and none is configured. (`enrollgate serve` reports it as a warning: the gate does not use `enrolled` blocks.)",
    fix: "Configure a feed (`--gdmf FILE`, or `feeds.gdmf` in `enrollgate.yaml`), or give the deadline as a date and time.",
  },
  "deadline-passed": {
    severity: "warning",
    title: "Deadline already passed",
    meaning:
      "The `enrolled` deadline has passed at `--now` somewhere on Earth (a device-local time is reached first at UTC+14). A device below the target that receives the declaration now installs it at once, with no notice period.",
    fix: "Move the deadline later if devices should get notice; leave it if they should update now.",
  },
  "enrolled-supplemental-target": {
    severity: "warning",
    title: "Supplemental target: installed in two steps",
    meaning:
      "The enrolled target is a supplemental version such as `26.5 (a)`. Apple installs a supplemental update only on a device already on its base version, so enrollgate writes two configurations: one that brings devices below the base to `26.5`, and one that brings devices on `26.5` to `26.5 (a)`, both with the deadline. A device far behind installs twice, back to back once the deadline has passed.",
    fix: "Nothing, if that is what you want; target the base version (or the next full release) to install once.",
  },
  "enrolled-target-not-in-feed": {
    severity: "error",
    title: "Enrolled target not in Apple's feed",
    meaning:
      "Apple's GDMF feed does not offer the `enrolled` target for the rule's platform at `--now` (not listed, or only as expired). Apple enforces a `softwareupdate.enforcement.specific` configuration only for a version GDMF offers: devices would keep the configuration and never update. With `daysAfterRelease`, the deadline cannot be computed either. Beta rules are not checked (seeds are never in the public feed). (`enrollgate serve` reports it as a warning.)",
    fix: "Target a version Apple offers, or refresh the snapshot if the release is new.",
  },
  "enrolled-models-without-target": {
    severity: "warning",
    title: "Enrolled models that cannot install the target",
    meaning:
      "Apple's GDMF feed lists models the rule matches, but does not offer them the `enrolled` target: those devices would get a configuration they can never satisfy, and report it as failed.",
    fix: "Narrow the rule's models, and give the others a rule (with its own `enrolled` block) they can reach.",
  },
  "enrolled-board-ids": {
    severity: "warning",
    title: "Macs told apart by board id only from macOS 15",
    meaning:
      "The rule's declarations match Macs by board id (`softwareupdate.device-id`), a status item Macs report from macOS 15 on (iPhones and iPads from 18): on macOS 14 the declarations never apply, and those Macs are judged behind. `target: latest` on macOS groups Macs by the board ids Apple's feed lists, too.",
    fix: "Name the models by model identifier (`Mac14,13`) as well, or update those Macs to macOS 15 first.",
  },
  "enrolled-beta-unsupported": {
    severity: "warning",
    title: "Beta program not enforceable here",
    meaning:
      "The rule has a `betaProgram`, and Apple's `softwareupdate.settings` declaration cannot require a beta program on its platform (no `Beta` key on visionOS; macOS from 15.4, iOS and iPadOS from 18, supervised). Enrolled devices are not enrolled in the program by enrollgate's declarations, so a seed build target cannot be installed.",
    fix: "Enroll those devices in the beta program another way, or leave the seed out of the `enrolled` block.",
  },
  "enrolled-build-needs-version": {
    severity: "error",
    title: "Enrolled build without a version",
    meaning:
      "The `enrolled` block names a `targetBuild` with `target: latest` or `latest-in-major`: one build cannot belong to every version those resolve to.",
    fix: "Name the target version the build belongs to, or leave `targetBuild` out.",
  },
  "declaration-invalid": {
    severity: "error",
    title: "Declaration fails Apple's schema",
    meaning:
      "A declaration the `enrolled` block compiles to fails Apple's schema for it (`schemas/ddm/`): the enforcement configuration, the beta program settings, the activation, or the status subscriptions. Every declaration is checked when the set compiles and again when it is written, so a device never receives one it cannot read.",
    fix: "Change the value the message names.",
  },
  "declaration-identifier-too-long": {
    severity: "warning",
    title: "Declaration identifier longer than 64 bytes",
    meaning:
      "A declaration's `Identifier` (`com.enrollgate.<kind>.<rule id>`) is longer than the 64 octets Apple asks identifiers to stay within.",
    fix: "Shorten the rule id.",
  },
} as const satisfies Record<string, CodeInfo>;

/** A finding's stable code: one of FINDING_CODES, each with an entry in docs/findings.md. */
export type FindingCode = keyof typeof FINDING_CODES;

/**
 * One finding on one line, as `enrollgate validate` prints it:
 * `file:line:col severity code message`. Where only errors are listed (a
 * policy set that does not compile), `{ severity: false }` leaves the
 * severity out. Line breaks in the message become spaces, so that a finding
 * is always one line of a log or a terminal.
 */
export function formatFinding(f: Finding, options: { readonly severity?: boolean } = {}): string {
  const severity = options.severity === false ? "" : `${f.severity} `;
  return `${formatLocation(f)} ${severity}${f.code} ${f.message.replace(/\r\n|[\r\n]/g, " ")}`;
}

export function countBySeverity(findings: ReadonlyArray<Finding>): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const f of findings) {
    if (f.severity === "error") errors++;
    else warnings++;
  }
  return { errors, warnings };
}

/** Stable order: file, line, column, code. */
export function sortFindings(findings: ReadonlyArray<Finding>): Finding[] {
  return [...findings].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.column - b.column ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}
