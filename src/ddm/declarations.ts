// ddmDeclarations(): a compiled set's `enrolled` blocks as Apple DDM
// declarations, for the whole fleet or for one device. Per enforce rule: a
// softwareupdate.enforcement.specific configuration per step and an
// activation.simple whose predicate gives it to exactly the rule's devices
// below the step's version; a softwareupdate.settings requiring the rule's
// beta program; and one status subscription for the items `judgeStatus`
// reads. Every declaration is checked against Apple's schema before it is
// returned.
import {
  betaSettingsPayload,
  declaration,
  declarationKeySupportedFrom,
  declarationProblem,
  DDM_STATUS_ITEMS,
  DECLARATION_TYPES,
  enforcementPayload,
  MAX_IDENTIFIER_OCTETS,
  type Declaration,
} from "../apple/ddm.js";
import { baseVersion, compareOsVersions, formatOsVersion, tryParseOsVersion } from "../apple/version.js";
import { InternalError } from "../errors.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import { declarationIdentifier } from "../policy/enrolled.js";
import type { Finding, FindingCode } from "../policy/findings.js";
import type { DeviceFacts, PolicyPlatform } from "../policy/model.js";
import {
  activationPredicate,
  enforcementFrom,
  familyOf,
  governingRule,
  planEnrolled,
  statusOfFacts,
  type PlannedRule,
  type PlannedStep,
} from "./plan.js";
import { evaluatePredicate, renderPredicate, type StatusLookup } from "./predicate.js";

/** The status subscription and its activation: one for the whole set. */
export const STATUS_SUBSCRIPTIONS_ID = "com.enrollgate.status-subscriptions";
export const STATUS_SUBSCRIPTIONS_ACTIVATION_ID = "com.enrollgate.status-subscriptions.activation";

/** What `ddmDeclarations` is asked: the instant, and optionally one device. */
export interface DdmOptions {
  /** The instant: which rules are active, exemptions, what Apple's feed offers, deadlines counted from releases. */
  readonly now: number | Date;
  /** One device: only the declarations it would apply (none when it is at or above its target). */
  readonly device?: DeviceFacts;
}

/** One step of a rule: the configuration, its version, build and deadline, and its activation. */
export interface DdmStep {
  readonly configuration: string;
  readonly activation: string;
  readonly version: string;
  readonly build: string | null;
  /** yyyy-mm-ddThh:mm:ss on the device's clock. */
  readonly deadline: string;
  /** For `latest`: the models this version is the newest for. */
  readonly models: ReadonlyArray<string> | null;
}

/** What one rule's `enrolled` block compiled to. */
export interface DdmRuleSummary {
  readonly rule: string;
  readonly platform: PolicyPlatform;
  /** audit rules are judged by `judgeStatus` and write no declarations. */
  readonly mode: "enforce" | "audit";
  readonly steps: ReadonlyArray<DdmStep>;
  /** The beta program settings' identifier, when one was written. */
  readonly settings: string | null;
}

/** What `ddmDeclarations` returns: the declarations, what each rule compiled to, and what could not be written. */
export interface DdmDeclarationSet {
  /** Sorted by Identifier. */
  readonly declarations: ReadonlyArray<Declaration>;
  readonly rules: ReadonlyArray<DdmRuleSummary>;
  /**
   * Why something was not written (a deadline or token that is not available, a declaration Apple's schema
   * refuses).
   */
  readonly problems: ReadonlyArray<Finding>;
  /** With `device`: the rule that governs it (null for none), and what it gets, in a sentence. */
  readonly device: { readonly rule: string | null; readonly summary: string } | null;
}

function instant(now: number | Date): number {
  return typeof now === "number" ? now : now.getTime();
}

interface Built {
  readonly summary: DdmRuleSummary;
  readonly activations: ReadonlyArray<{ readonly step: PlannedStep; readonly activation: Declaration<object> }>;
  readonly configurations: ReadonlyArray<Declaration<object>>;
}

function buildRule(p: PlannedRule, problem: (code: FindingCode, message: string) => void): Built {
  const r = p.rule;
  const e = p.enrolled;
  const configurations: Declaration<object>[] = [];
  let settings: string | null = null;
  if (r.betaProgram !== null && p.steps.length > 0) {
    const beta = declarationKeySupportedFrom(DECLARATION_TYPES.settings, ["Beta", "RequireProgram"], r.platform);
    if (beta !== null && r.token === null) {
      const from =
        "env" in r.betaProgram.token
          ? `environment variable ${r.betaProgram.token.env}`
          : `token file ${r.betaProgram.token.file}`;
      problem(
        "beta-token-unset",
        `the beta program token (${from}) is not available, so the softwareupdate.settings declaration that enrolls devices in "${r.betaProgram.description}" is not written`,
      );
    } else if (beta !== null && r.token !== null) {
      settings = declarationIdentifier("settings", r.id);
      configurations.push(
        declaration(
          DECLARATION_TYPES.settings,
          settings,
          betaSettingsPayload({ description: r.betaProgram.description, token: r.token }),
        ),
      );
    }
  }
  const activations: Array<{ step: PlannedStep; activation: Declaration<object> }> = [];
  const steps: DdmStep[] = [];
  for (const step of p.steps) {
    const configuration = declarationIdentifier("enforcement", r.id) + step.suffix;
    const activation = declarationIdentifier("activation", r.id) + step.suffix;
    const version = formatOsVersion(step.version);
    configurations.push(
      declaration(
        DECLARATION_TYPES.enforcement,
        configuration,
        enforcementPayload({
          version,
          build: step.buildText,
          localDateTime: step.deadline,
          detailsURL: e.detailsURL,
        }),
      ),
    );
    activations.push({
      step,
      activation: declaration(DECLARATION_TYPES.activation, activation, {
        StandardConfigurations: settings === null ? [configuration] : [settings, configuration],
        Predicate: renderPredicate(activationPredicate(p, step)),
      }),
    });
    steps.push({
      configuration,
      activation,
      version,
      build: step.buildText,
      deadline: step.deadline,
      models: step.models,
    });
  }
  for (const d of [...configurations, ...activations.map((a) => a.activation)]) {
    const why = declarationProblem(d, r.platform);
    if (why !== null)
      problem("declaration-invalid", `its ${d.Type} declaration ${d.Identifier} fails Apple's schema: ${why}`);
    if (Buffer.byteLength(d.Identifier) > MAX_IDENTIFIER_OCTETS)
      problem(
        "declaration-identifier-too-long",
        `the declaration identifier ${d.Identifier} is ${Buffer.byteLength(d.Identifier)} bytes; Apple asks for at most ${MAX_IDENTIFIER_OCTETS}`,
      );
  }
  return { summary: { rule: r.id, platform: r.platform, mode: r.mode, steps, settings }, activations, configurations };
}

function statusSubscriptions(platforms: ReadonlyArray<PolicyPlatform>): Declaration<object>[] {
  const config = declaration(DECLARATION_TYPES.statusSubscriptions, STATUS_SUBSCRIPTIONS_ID, {
    StatusItems: DDM_STATUS_ITEMS.map((Name) => ({ Name })),
  });
  const families = [...new Set(platforms.map(familyOf))].sort();
  const activation = declaration(DECLARATION_TYPES.activation, STATUS_SUBSCRIPTIONS_ACTIVATION_ID, {
    StandardConfigurations: [STATUS_SUBSCRIPTIONS_ID],
    Predicate: renderPredicate({ op: "in", item: "device.operating-system.family", values: families }),
  });
  for (const d of [config, activation]) {
    const why = declarationProblem(d, null);
    if (why !== null)
      throw new InternalError(`the status subscription declaration ${d.Identifier} fails Apple's schema: ${why}`);
  }
  return [config, activation];
}

function describeDevice(facts: DeviceFacts): string {
  const build = facts.supplementalBuild ?? facts.build;
  const extra = facts.supplementalExtra !== undefined ? ` ${facts.supplementalExtra}` : "";
  return `${facts.product} on ${facts.osVersion ?? "an unknown version"}${extra}${build !== undefined ? ` (${build})` : ""}`;
}

function deviceSummary(
  facts: DeviceFacts,
  values: StatusLookup,
  plan: ReturnType<typeof planEnrolled>,
  sent: ReadonlyArray<{ step: PlannedStep }>,
): { rule: string | null; summary: string } {
  const who = describeDevice(facts);
  const governing = governingRule(plan, values);
  if (governing === null) return { rule: null, summary: `${who}: no active rule with an enrolled block applies to it` };
  const r = governing.rule;
  const target =
    governing.enrolled.target.kind === "version" ? governing.enrolled.target.text : governing.enrolled.target.kind;
  if (r.mode === "audit") return { rule: r.id, summary: `${who}: ${r.id} is in audit mode and writes no declarations` };
  if (governing.steps.length === 0)
    return {
      rule: r.id,
      summary: `${who}: ${r.id}'s enrolled target ${target} cannot be resolved, so nothing is sent`,
    };
  const from = enforcementFrom(r.platform);
  const version = tryParseOsVersion(facts.osVersion);
  if (sent.length === 0 && from !== null && version !== null && compareOsVersions(baseVersion(version), from) < 0)
    return {
      rule: r.id,
      summary: `${who}: ${r.platform} ${facts.osVersion ?? ""} cannot apply declarative software update enforcement (${r.platform} ${formatOsVersion(from)} and later)`,
    };
  const step = sent[0]?.step;
  if (step === undefined)
    return {
      rule: r.id,
      summary: `${who}: at or above ${r.id}'s enrolled target ${target}${values("device.operating-system.version") === undefined ? " (or its version is unknown)" : ""}; nothing to send`,
    };
  const v = `${formatOsVersion(step.version)}${step.buildText !== null ? ` (${step.buildText})` : ""}`;
  const two = step.suffix === ".base" ? `, the base of ${target} (step 1 of 2)` : "";
  return { rule: r.id, summary: `${who}: below ${r.id}'s enrolled target; install ${v}${two} by ${step.deadline}` };
}

/**
 * The DDM declarations for a compiled set's `enrolled` blocks, at an
 * instant: the whole fleet's, or (with `device`) the ones that device would
 * apply, none when it already runs its target. Pure: the set carries Apple's
 * feed (compile's `availability`) and the beta tokens; nothing is read or
 * written. `problems` names what could not be written and why.
 *
 * @example
 * import { assertCompiled, compile, ddmDeclarations, loadPolicySet } from "enrollgate";
 *
 * const set = assertCompiled(compile(await loadPolicySet("policies"), { env: process.env }), "policies");
 * const { declarations, problems } = ddmDeclarations(set, { now: new Date() });
 * // declarations: [{ Type: "com.apple.activation.simple", Identifier: "com.enrollgate.activation.iphone-floor",
 * //   ServerToken: "…", Payload: { StandardConfigurations: [...], Predicate: "@status(…) == …" } }, ...]
 */
export function ddmDeclarations(set: CompiledPolicySet, options: DdmOptions): DdmDeclarationSet {
  const now = instant(options.now);
  const plan = planEnrolled(set, now);
  const problems: Finding[] = [...plan.problems];
  const built = plan.rules.map((p) =>
    p.rule.mode === "enforce"
      ? buildRule(p, (code, message) =>
          problems.push({
            ...p.rule.source,
            severity: code === "declaration-identifier-too-long" ? "warning" : "error",
            code,
            message: `rule "${p.rule.id}": ${message}`,
            rule: p.rule.id,
          }),
        )
      : {
          summary: { rule: p.rule.id, platform: p.rule.platform, mode: p.rule.mode, steps: [], settings: null },
          activations: [],
          configurations: [],
        },
  );
  const rules = built.map((b) => b.summary);
  let declarations: Declaration<object>[];
  let device: DdmDeclarationSet["device"] = null;
  if (options.device !== undefined) {
    const values = statusOfFacts(options.device);
    const sent: Array<{ step: PlannedStep; activation: Declaration<object> }> = [];
    declarations = [];
    built.forEach((b, i) => {
      const p = plan.rules[i] as PlannedRule;
      for (const a of b.activations) {
        if (!evaluatePredicate(activationPredicate(p, a.step), values)) continue;
        sent.push(a);
        const wanted = new Set((a.activation.Payload as { StandardConfigurations: string[] }).StandardConfigurations);
        declarations.push(a.activation, ...b.configurations.filter((c) => wanted.has(c.Identifier)));
      }
    });
    device = deviceSummary(options.device, values, plan, sent);
  } else {
    declarations = built.flatMap((b) => [...b.configurations, ...b.activations.map((a) => a.activation)]);
    if (plan.rules.length > 0) declarations.push(...statusSubscriptions(plan.rules.map((p) => p.rule.platform)));
  }
  const unique = new Map(declarations.map((d) => [d.Identifier, d]));
  return {
    declarations: [...unique.values()].sort((a, b) => (a.Identifier < b.Identifier ? -1 : 1)),
    rules,
    problems,
    device,
  };
}
