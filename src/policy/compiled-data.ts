// A compiled policy set as plain data, and back. The server compiles in a
// worker thread (so that a hostile policy file costs the worker, never the
// thread that answers devices); what crosses back is this data, which the
// structured clone algorithm copies, and the serving thread rebuilds the set
// from it without parsing anything: rule objects, model globs, the index,
// and 403 bodies attached to this thread's own schema bands.
import { EnrollgateError } from "../errors.js";
import { compareOsVersions, type OsVersion } from "../apple/version.js";
import type { ErrorSchema, SoftwareUpdateRequiredBody } from "../apple/software-update-required.js";
import type { AvailabilitySource } from "./availability.js";
import type { BandBodies, CompiledPolicySet, CompiledRule } from "./compile.js";
import type { Finding, SourceRange } from "./findings.js";
import { compileGlob } from "./glob.js";
import type { Settings } from "./model.js";
import type { VulnerabilitySource } from "./vulnerabilities.js";
import { RuleIndex } from "./rule-index.js";
import { CompiledPolicyRule, PolicyRule, type RuleFields } from "./rule-object.js";

export interface CompiledRuleData {
  readonly fields: RuleFields;
  /** The rule's file; its line is not carried (finding it needs the positioned parse). */
  readonly file: string;
  readonly token: string | null;
  /** Bodies per band, the band named by the OS version it starts at. */
  readonly bodies: ReadonlyArray<{
    readonly from: OsVersion;
    readonly normal: SoftwareUpdateRequiredBody;
    readonly sameVersion: SoftwareUpdateRequiredBody;
  }> | null;
}

export interface CompiledSetData {
  readonly revision: string;
  readonly settings: Settings;
  readonly rules: ReadonlyArray<CompiledRuleData>;
  readonly findings: ReadonlyArray<Finding>;
}

/** Just the rule's own fields, named one by one so that a new field is a type error here. */
function fieldsOf(r: CompiledRule): RuleFields {
  return {
    id: r.id,
    platform: r.platform,
    models: r.models,
    minimum: r.minimum,
    minimumText: r.minimumText,
    minimumBuild: r.minimumBuild,
    minimumBuildText: r.minimumBuildText,
    target: r.target,
    targetBuild: r.targetBuild,
    betaProgram: r.betaProgram,
    message: r.message,
    description: r.description,
    mode: r.mode,
    activeFrom: r.activeFrom,
    exempt: r.exempt,
    whenUnavailable: r.whenUnavailable,
    adu: r.adu,
    enrolled: r.enrolled,
  };
}

export function compiledSetData(set: CompiledPolicySet): CompiledSetData {
  return {
    revision: set.revision,
    settings: set.settings,
    findings: set.findings,
    rules: set.rules.map((r) => ({
      fields: fieldsOf(r),
      file: r instanceof PolicyRule ? r.file : r.source.file,
      token: r.token,
      bodies: r.bodies?.map((b) => ({ from: b.band.from, normal: b.normal, sameVersion: b.sameVersion })) ?? null,
    })),
  };
}

/** Compiled data that does not fit this thread's schema: the worker and this thread disagree, a bug. */
export class HydrationError extends EnrollgateError<"hydration-failed"> {
  override readonly name = "HydrationError";

  constructor(message: string) {
    super("hydration-failed", message, "internal");
  }
}

/**
 * Rebuilds the set; `errors`, `availability` and `vulnerabilities` are this thread's (built from the same feed data the
 * set was compiled with).
 */
export function hydrateCompiledSet(
  data: CompiledSetData,
  context: {
    readonly errors: ErrorSchema;
    readonly availability: AvailabilitySource;
    readonly vulnerabilities?: VulnerabilitySource | null;
  },
): CompiledPolicySet {
  const rules: CompiledRule[] = data.rules.map((d) => {
    const bands = context.errors.bands(d.fields.platform);
    const bodies: BandBodies[] | null =
      d.bodies?.map((b) => {
        const band = bands.find((x) => compareOsVersions(x.from, b.from) === 0);
        if (band === undefined)
          throw new HydrationError(
            `rule "${d.fields.id}": no ${d.fields.platform} band of Apple's schema starts at the version its bodies were rendered for`,
          );
        return Object.freeze({ band, normal: b.normal, sameVersion: b.sameVersion });
      }) ?? null;
    const where: SourceRange = { file: d.file, line: 1, column: 1, endLine: 1, endColumn: 1 };
    const rule = new PolicyRule(d.fields, () => where, d.file);
    return Object.freeze(
      new CompiledPolicyRule(rule, {
        globs: d.fields.models === null ? null : Object.freeze(d.fields.models.map(compileGlob)),
        token: d.token,
        bodies: bodies === null ? null : Object.freeze(bodies),
      }),
    );
  });
  return Object.freeze({
    revision: data.revision,
    settings: Object.freeze(data.settings),
    rules: Object.freeze(rules),
    index: new RuleIndex(rules),
    errors: context.errors,
    availability: context.availability,
    vulnerabilities: context.vulnerabilities ?? null,
    findings: Object.freeze(data.findings),
  });
}
