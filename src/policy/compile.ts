// compile(): policy sources → an immutable, indexed policy set, or findings
// saying why not. Pure: file contents, environment, clock and feeds come in
// as arguments.
import { createHash } from "node:crypto";
import { append } from "../append.js";
import { posix } from "node:path";
import { bundledAppleSchema } from "../apple/bundled.js";
import { formatOsVersion } from "../apple/version.js";
import type { AppleSchemaDocument } from "../apple/schema/document.js";
import { formatViolations } from "../apple/schema/validator.js";
import {
  buildBody,
  errorSchema,
  type ErrorBand,
  type ErrorSchema,
  type SoftwareUpdateRequiredBody,
  type UpdateRequest,
} from "../apple/software-update-required.js";
import { ALWAYS_AVAILABLE, type AvailabilitySource } from "./availability.js";
import { checkEnrolled } from "./enrolled.js";
import { countBySeverity, sortFindings, type Finding } from "./findings.js";
import type { ModelGlob } from "./glob.js";
import { DEFAULT_SETTINGS, type Rule, type Settings, type TestCase } from "./model.js";
import { validateStructure, type FileKind } from "./policy-schema.js";
import { readRules, readSettings, readTests, type RuleDraft } from "./read.js";
import { RuleIndex } from "./rule-index.js";
import { CompiledPolicyRule, type RuleFields } from "./rule-object.js";
import {
  checkRules,
  checkSettingsFiles,
  checkTests,
  duplicateRuleIds,
  resolveToken,
  type DeclaredRule,
  type SecretSources,
} from "./semantic.js";
import { finding, parseSource, type ParsedSource } from "./source.js";
import type { VulnerabilitySource } from "./vulnerabilities.js";

/** One file of a policy set, as loadPolicySet() read it. */
export interface PolicyFile {
  /** The path findings show (relative to the working directory). */
  readonly path: string;
  /** The path inside the policy directory, with forward slashes. */
  readonly relative: string;
  readonly kind: FileKind;
  readonly text: string;
}

/** A policy directory's files, read and not yet parsed: what compile() takes. */
export interface PolicySetSource {
  /** The policy directory, absolute; token files resolve against it. */
  readonly dir: string;
  readonly files: ReadonlyArray<PolicyFile>;
  /** Files that exist but could not be read (default code `file-unreadable`). */
  readonly unreadable?: ReadonlyArray<{
    readonly path: string;
    readonly error: string;
    readonly code?: "file-unreadable" | "file-outside-policy-dir";
  }>;
  /** How findings name the directory itself (as the user gave it); default `dir`. */
  readonly label?: string;
}

/** What compile() is given besides the files: beta token sources, the clock, the feeds. */
export interface CompileOptions extends Partial<SecretSources> {
  /** Epoch ms for time-based checks (expired exemptions, feed expiry); omitted: those are skipped. */
  readonly now?: number;
  /** `serve` makes a missing beta token an error. Default `validate`. */
  readonly purpose?: "validate" | "serve";
  /**
   * `warning`: feed findings (GDMF, ADU, SOFA) never stop the set, as in `serve` (the world moves; each device is
   * checked at decision time). Default: as found under `validate`, warnings under `serve`.
   */
  readonly feedSeverity?: "as-found" | "warning";
  /** Whether a target is available to a device (enrollgate/feeds' feedAvailability); default: always. */
  readonly availability?: AvailabilitySource;
  /**
   * Which actively exploited vulnerabilities devices are exposed to (enrollgate/feeds' sofaVulnerabilities); default:
   * none known.
   */
  readonly vulnerabilities?: VulnerabilitySource;
  /** Apple's schema for the error; default schemas/softwareupdate.required.yaml. */
  readonly errorSchema?: AppleSchemaDocument;
}

/** Pre-rendered bodies for one band: as usual, and for a device already on the target version. */
export interface BandBodies {
  readonly band: ErrorBand;
  readonly normal: SoftwareUpdateRequiredBody;
  readonly sameVersion: SoftwareUpdateRequiredBody;
}

/** A rule as a compiled set holds it: its globs, its resolved beta token, its 403 bodies rendered per OS band. */
export interface CompiledRule extends Rule {
  readonly globs: ReadonlyArray<ModelGlob> | null;
  /** The resolved beta token; null without a beta program (or, outside `serve`, when unset). */
  readonly token: string | null;
  /** Bodies per band for a fixed target; null for latest / latest-in-major (built per device). */
  readonly bodies: ReadonlyArray<BandBodies> | null;
}

/** A policy set ready to decide with: immutable, its rules indexed by platform and model. */
export interface CompiledPolicySet {
  /** Content hash of the policy files and feeds: names the set in logs and metrics. */
  readonly revision: string;
  readonly settings: Settings;
  readonly rules: ReadonlyArray<CompiledRule>;
  readonly index: RuleIndex<CompiledRule>;
  readonly errors: ErrorSchema;
  readonly availability: AvailabilitySource;
  /** Actively exploited vulnerabilities per device (SOFA), when configured. */
  readonly vulnerabilities?: VulnerabilitySource | null;
  /** Warnings about the rule and settings files. */
  readonly findings: ReadonlyArray<Finding>;
}

/** What compile() found: the set (or null), and every finding. */
export interface CompileResult {
  /** No errors anywhere, test files included. */
  readonly ok: boolean;
  /** Null when a rule or settings file has an error; errors in test files do not stop the set. */
  readonly set: CompiledPolicySet | null;
  /** Errors and warnings, sorted by file and position. */
  readonly findings: ReadonlyArray<Finding>;
  readonly tests: ReadonlyArray<TestCase>;
  /** How many files of each kind were read. */
  readonly files: Readonly<Record<FileKind, number>>;
  /** Every file checked, as findings show it. */
  readonly checked: ReadonlyArray<string>;
  /** The rules read, even when the set has errors (feeds are pulled for them). */
  readonly rules: ReadonlyArray<Rule>;
  /** The settings read, even when the set has errors. */
  readonly settings: Settings;
}

const TOKEN_PLACEHOLDER = "(token unavailable)";

/** The request a rule makes of a device with a fixed target. */
export function updateRequest(
  rule: RuleFields,
  token: string | null,
  osVersion: string,
  buildVersion: string | null,
): UpdateRequest {
  return {
    osVersion,
    buildVersion,
    betaProgram:
      rule.betaProgram === null
        ? null
        : { description: rule.betaProgram.description, token: token ?? TOKEN_PLACEHOLDER },
    message: rule.message,
    description: rule.description,
  };
}

/** Renders and validates a rule's bodies for every band a device it blocks can be in. */
function renderBodies(
  rule: RuleFields,
  token: string | null,
  errors: ErrorSchema,
  at: RuleDraft["at"],
): { bodies: BandBodies[]; findings: Finding[] } {
  const findings: Finding[] = [];
  const bodies: BandBodies[] = [];
  const osVersion = rule.target.kind === "version" ? rule.target.text : formatOsVersion(rule.minimum);
  const sameVersionBuild = rule.targetBuild ?? rule.minimumBuildText;
  for (const band of errors.bands(rule.platform)) {
    const normal = buildBody(updateRequest(rule, token, osVersion, rule.targetBuild), band);
    const sameVersion = buildBody(updateRequest(rule, token, osVersion, sameVersionBuild), band);
    for (const body of [normal, sameVersion]) {
      const result = band.validate(body);
      if (!result.ok) {
        findings.push(
          finding(
            at(["id"]),
            "body-invalid",
            "error",
            `rule "${rule.id}": the 403 body for ${rule.platform} ${formatOsVersion(band.from)}+ fails Apple's schema: ${formatViolations(result.violations)}`,
            rule.id,
          ),
        );
      }
    }
    bodies.push({ band, normal, sameVersion });
  }
  return { bodies, findings };
}

/** Every rule a rule file declares an id for, whatever else is wrong with it. */
function declaredRules(source: ParsedSource): DeclaredRule[] {
  const rules = (source.value as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return [];
  const out: DeclaredRule[] = [];
  rules.forEach((rule: unknown, i) => {
    const id = (rule as { id?: unknown } | null)?.id;
    if (typeof id === "string") out.push({ id, at: () => source.locate(["rules", i, "id"]) });
  });
  return out;
}

function revisionOf(
  source: PolicySetSource,
  availability: AvailabilitySource,
  vulnerabilities: VulnerabilitySource | null,
): string {
  const hash = createHash("sha256");
  for (const f of [...source.files].sort((a, b) => (a.relative < b.relative ? -1 : 1))) {
    hash.update(f.relative).update("\u0000").update(f.text).update("\u0000");
  }
  hash.update(availability.revision);
  if (vulnerabilities !== null) hash.update("\u0000").update(vulnerabilities.revision);
  return hash.digest("hex").slice(0, 12);
}

/**
 * Compiles a policy set: schema and semantic checks, feed cross-checks, and
 * every rule's 403 bodies validated against Apple's schema. Pure: files,
 * environment, clock and feeds come in through `source` and `options`. Never
 * throws: `set` is null when a rule or settings file has an error, and
 * `findings` lists every finding with its file, line and column.
 *
 * @example
 * import { compile, formatReport, loadPolicySet } from "enrollgate";
 *
 * const result = compile(await loadPolicySet("policies"), { env: process.env, now: Date.now() });
 * if (result.set === null) console.error(formatReport("text", { findings: result.findings, files: [], version: "1" }));
 */
export function compile(source: PolicySetSource, options: CompileOptions = {}): CompileResult {
  const availability = options.availability ?? ALWAYS_AVAILABLE;
  const vulnerabilities = options.vulnerabilities ?? null;
  const errors = errorSchema(options.errorSchema ?? bundledAppleSchema("softwareupdate.required"));
  const findings: Finding[] = [];
  const drafts: RuleDraft[] = [];
  const tests: TestCase[] = [];
  const declared: DeclaredRule[] = [];
  let settingsSource: ParsedSource | null = null;
  const files: Record<FileKind, number> = { rules: 0, tests: 0, settings: 0 };

  for (const u of source.unreadable ?? []) {
    findings.push(
      finding(
        { file: u.path, line: 1, column: 1, endLine: 1, endColumn: 1 },
        u.code ?? "file-unreadable",
        "error",
        u.error,
      ),
    );
  }
  // No rule file at all is a checkout gone wrong far more often than a wish
  // to enforce nothing; serving it would allow every device. `rules: []` says it.
  if (!source.files.some((f) => f.kind === "rules") && (source.unreadable ?? []).length === 0) {
    const at = source.label ?? source.dir;
    findings.push(
      finding(
        { file: at, line: 1, column: 1, endLine: 1, endColumn: 1 },
        "no-rule-files",
        "error",
        `${at} holds no rule file (*.yaml); write "rules: []" in one to enforce nothing on purpose`,
      ),
    );
  }
  for (const file of source.files) {
    files[file.kind]++;
    const parsed = parseSource(file);
    append(findings, parsed.findings);
    if (
      parsed.findings.length === 0 &&
      (parsed.source === null || parsed.source.value === null) &&
      file.kind !== "settings"
    ) {
      // Emptied by accident (a bad merge, a truncated write), a rule file
      // would silently take its rules out of the set; a test file, its cases.
      const at = { file: file.path, line: 1, column: 1, endLine: 1, endColumn: 1 };
      findings.push(
        file.kind === "rules"
          ? finding(
              at,
              "empty-rule-file",
              "error",
              "the rule file is empty (nothing but comments or whitespace), which would silently remove the rules it held; write rules: [] to enforce nothing on purpose",
            )
          : finding(
              at,
              "test-no-cases",
              "error",
              "the test file is empty (nothing but comments or whitespace); a test file without cases proves nothing",
            ),
      );
      continue;
    }
    if (parsed.source === null) continue;
    let src = parsed.source;
    // An empty settings file means "all defaults".
    if (file.kind === "settings" && src.value === null)
      src = { ...src, value: {}, locate: src.locate.bind(src), scalarAt: src.scalarAt.bind(src) };
    const structural = validateStructure(src, file.kind);
    append(findings, structural.findings);
    if (file.kind === "rules") append(declared, declaredRules(src));
    if (structural.brokenFile || (file.kind !== "rules" && structural.findings.length > 0)) continue;
    if (file.kind === "rules") {
      const r = readRules(src, structural.brokenRules);
      append(drafts, r.drafts);
      append(findings, r.findings);
    } else if (file.kind === "tests") {
      const t = readTests(src);
      append(tests, t.cases);
      append(findings, t.findings);
    } else {
      settingsSource = src;
    }
  }

  const ctx = {
    dir: source.dir,
    now: options.now ?? null,
    purpose: options.purpose ?? "validate",
    env: options.env ?? {},
    ...(options.readFile !== undefined ? { readFile: options.readFile } : {}),
    errors,
    availability,
  } as const;
  append(findings, duplicateRuleIds(declared));
  append(findings, checkRules(drafts, ctx));
  append(findings, checkEnrolled(drafts, ctx));
  if (settingsSource !== null) findings.push(...checkSettingsFiles(settingsSource, ctx));
  for (const d of drafts) {
    const problems = [
      ...(availability.checkRule?.(d.rule, ctx.now) ?? []),
      ...(vulnerabilities?.checkRule?.(d.rule) ?? []),
    ];
    for (const p of problems) {
      // Feeds describe the world now, and it moves (snapshots expire). A running
      // gate keeps serving and checks each device at decision time instead.
      const severity = ctx.purpose === "serve" || options.feedSeverity === "warning" ? "warning" : p.severity;
      findings.push(
        finding(
          d.at(p.index !== undefined ? [p.field, p.index] : [p.field], p.field === "adu" ? "key" : "value"),
          p.code,
          severity,
          p.message,
          d.rule.id,
        ),
      );
    }
  }
  append(findings, checkTests(tests, new Set(declared.map((d) => d.id))));

  const rules: CompiledRule[] = [];
  for (const d of drafts) {
    const token = resolveToken(d.rule, ctx);
    let bodies: BandBodies[] | null = null;
    if (d.rule.target.kind === "version") {
      const rendered = renderBodies(d.rule, token, errors, d.at);
      append(findings, rendered.findings);
      bodies = rendered.bodies;
    } else {
      // Targets resolved per device: check the shape once with a stand-in version.
      findings.push(
        ...renderBodies(
          { ...d.rule, target: { kind: "version", version: d.rule.minimum, text: d.rule.minimumText } },
          token,
          errors,
          d.at,
        ).findings,
      );
    }
    rules.push(
      Object.freeze(
        new CompiledPolicyRule(d.rule, {
          globs: d.globs === null ? null : Object.freeze(d.globs),
          token,
          bodies: bodies === null ? null : Object.freeze(bodies.map((b) => Object.freeze(b))),
        }),
      ),
    );
  }

  const sorted = sortFindings(findings);
  const ok = countBySeverity(sorted).errors === 0;
  const testFiles = new Set(source.files.filter((f) => f.kind === "tests").map((f) => f.path));
  const usable = !sorted.some((f) => f.severity === "error" && !testFiles.has(f.file));
  const settings = settingsSource === null ? DEFAULT_SETTINGS : readSettings(settingsSource);
  const set: CompiledPolicySet | null = usable
    ? Object.freeze({
        revision: revisionOf(source, availability, vulnerabilities),
        settings,
        rules: Object.freeze(rules),
        index: new RuleIndex(rules),
        errors,
        availability,
        vulnerabilities,
        findings: Object.freeze(sorted.filter((f) => !testFiles.has(f.file))),
      })
    : null;
  const checked = [...source.files.map((f) => f.path), ...(source.unreadable ?? []).map((u) => u.path)];
  return { ok, set, findings: sorted, tests, files, checked, rules: drafts.map((d) => d.rule), settings };
}

/** The display path of a file inside a policy directory shown relative to the working directory. */
export function displayPath(dirDisplay: string, relative: string): string {
  return dirDisplay === "" || dirDisplay === "." ? relative : posix.join(dirDisplay.replace(/\\/g, "/"), relative);
}
