// Checks that need more than one field, file or rule: each a finding with a
// stable code at the place to fix.
import { isAbsolute, relative, resolve } from "node:path";
import { append } from "../append.js";
import { compareBuilds, parseBuild } from "../apple/build.js";
import { parsePemCertificates } from "../apple/trust-store.js";
import { compareOsVersions } from "../apple/version.js";
import { formatLocation } from "../location.js";
import type { ErrorSchema } from "../apple/software-update-required.js";
import type { AvailabilitySource } from "./availability.js";
import type { Finding, SourceRange } from "./findings.js";
import { canMatchPlatform } from "./glob.js";
import type { Rule, TestCase } from "./model.js";
import type { RuleDraft } from "./read.js";
import { finding, type ParsedSource } from "./source.js";
import { belowImplies, byStrictness } from "./strictness.js";

/** The files a policy can name: beta token files, trust anchors, and the serving certificate and key. */
export type NamedFileKind = "token" | "trust-anchor" | "tls-certificate" | "tls-key";

/**
 * What reading a file a policy names gave. `refused`: the gate will never read
 * it (outside the allowed directories, not a regular file, too large), an
 * error wherever it is checked; otherwise it may simply be missing here (a CI
 * machine has no secrets).
 */
export type NamedFileRead =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly refused: boolean; readonly problem: string };

export interface SecretSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Reads a file a policy names, by absolute path; the edge confines and
   * checks it (src/policy/load.ts policyFileReader). A plain string or null
   * (the older form) means read or not readable.
   */
  readonly readFile?: (absolutePath: string, kind: NamedFileKind) => NamedFileRead | string | null;
}

function readNamed(ctx: Pick<SecretSources, "readFile">, path: string, kind: NamedFileKind): NamedFileRead {
  const r = ctx.readFile?.(path, kind);
  if (r === undefined || r === null) return { ok: false, refused: false, problem: "it cannot be read" };
  return typeof r === "string" ? { ok: true, text: r } : r;
}

export interface SemanticContext extends SecretSources {
  /** The policy directory, for token files given relative to it. */
  readonly dir: string;
  /** For time-based checks; null skips them. */
  readonly now: number | null;
  /** `serve` makes a missing beta token an error: the gate would send an incomplete body. */
  readonly purpose: "validate" | "serve";
  readonly errors: ErrorSchema;
  readonly availability: AvailabilitySource;
}

/** A rule id as written, with where: every rule of every rule file, those with errors included. */
export interface DeclaredRule {
  readonly id: string;
  readonly at: () => SourceRange;
}

/**
 * Rule ids defined more than once, reported at every place. Every declared
 * rule counts, those with other errors too: fixing one error must not
 * reveal another that was there all along.
 */
export function duplicateRuleIds(declared: ReadonlyArray<DeclaredRule>): Finding[] {
  const byId = new Map<string, DeclaredRule[]>();
  for (const d of declared) {
    const list = byId.get(d.id) ?? [];
    list.push(d);
    byId.set(d.id, list);
  }
  const out: Finding[] = [];
  for (const [id, list] of byId) {
    if (list.length < 2) continue;
    for (const d of list) {
      const others = list.filter((o) => o !== d);
      out.push({
        ...finding(
          d.at(),
          "duplicate-rule-id",
          "error",
          `rule id "${id}" is also defined at ${others.map((o) => formatLocation(o.at())).join(", ")}`,
          id,
        ),
        related: others.map((o) => ({ ...o.at(), message: `"${id}" defined here` })),
      });
    }
  }
  return out;
}

type TokenLookup = { readonly token: string } | { readonly token: null; readonly refused: string | null };

/**
 * The environment variables a policy may take a beta token from: BETA_TOKEN
 * and names ending in _BETA_TOKEN. The gate's environment holds the server's
 * other secrets too (ENROLLGATE_ADU_TOKEN, cloud credentials, database
 * passwords), and a token goes into the 403 body of every device its rule
 * blocks, so a policy change must not be able to name those: like token
 * files, which stay inside directories the operator names.
 */
export const TOKEN_ENV_NAME = /^(?:[A-Za-z0-9_]*_)?BETA_TOKEN$/;

function lookUpToken(rule: Rule, ctx: Pick<SemanticContext, "env" | "readFile" | "dir">): TokenLookup | null {
  const ref = rule.betaProgram?.token;
  if (ref === undefined) return null;
  if ("env" in ref) {
    if (!TOKEN_ENV_NAME.test(ref.env))
      return {
        token: null,
        refused:
          "a policy may take a token only from BETA_TOKEN or a variable whose name ends in _BETA_TOKEN; the environment holds the server's other secrets",
      };
    const v = ctx.env[ref.env]?.trim();
    return v === undefined || v === "" ? { token: null, refused: null } : { token: v };
  }
  const read = readNamed(ctx, isAbsolute(ref.file) ? ref.file : resolve(ctx.dir, ref.file), "token");
  if (!read.ok) return { token: null, refused: read.refused ? read.problem : null };
  const v = read.text.trim();
  return v === "" ? { token: null, refused: null } : { token: v };
}

/** Resolves a rule's beta token; null when the environment or file does not provide it. */
export function resolveToken(rule: Rule, ctx: Pick<SemanticContext, "env" | "readFile" | "dir">): string | null {
  return lookUpToken(rule, ctx)?.token ?? null;
}

function tokenFinding(d: RuleDraft, ctx: SemanticContext): Finding | null {
  const ref = d.rule.betaProgram?.token;
  const lookup = lookUpToken(d.rule, ctx);
  if (ref === undefined || lookup === null || lookup.token !== null) return null;
  if ("file" in ref && lookup.refused !== null) {
    // Never a warning: the gate will not read this file on any machine.
    return finding(
      d.at(["betaProgram", "token", "file"]),
      "token-file-refused",
      "error",
      `beta program token file ${ref.file} is refused: ${lookup.refused}`,
      d.rule.id,
    );
  }
  if ("env" in ref && lookup.refused !== null) {
    // Never a warning either: the gate will not read this variable on any machine.
    return finding(
      d.at(["betaProgram", "token", "env"]),
      "token-env-refused",
      "error",
      `beta program token variable ${ref.env} is refused: ${lookup.refused}`,
      d.rule.id,
    );
  }
  const severity = ctx.purpose === "serve" ? "error" : "warning";
  const what = "env" in ref ? `environment variable ${ref.env} is not set` : `token file ${ref.file} cannot be read`;
  const consequence =
    ctx.purpose === "serve" ? "the gate will not serve without it" : "the gate will refuse to serve until it is";
  return finding(
    d.at(["betaProgram", "token", "env" in ref ? "env" : "file"]),
    "beta-token-unset",
    severity,
    `beta program token: ${what}; ${consequence}`,
    d.rule.id,
  );
}

/** The keyword for Apple's bundled device CA chain in trustAnchors (not a file). */
const BUILT_IN_ANCHORS = "apple";

/**
 * Trust anchor files enrollgate.yaml names: like token files, they must stay
 * inside the policy directory or a secrets directory and be regular files;
 * they must exist and hold certificates, or the gate will not load the set.
 * A missing file inside the policy directory is an error (the repository
 * holds it or nothing does); elsewhere it may be a secret mounted only where
 * the gate runs, so `validate` warns.
 */
export function checkSettingsFiles(
  settings: ParsedSource,
  ctx: Pick<SemanticContext, "readFile" | "dir" | "purpose">,
): Finding[] {
  if (ctx.readFile === undefined) return [];
  return [...trustAnchorFindings(settings, ctx), ...tlsFileFindings(settings, ctx)];
}

/**
 * The certificate and key `tls` names: the same confinement as every file a
 * policy names. A file that is merely missing is no finding (CI has no
 * secrets); `serve` reports it when it cannot start.
 */
function tlsFileFindings(settings: ParsedSource, ctx: Pick<SemanticContext, "readFile" | "dir">): Finding[] {
  const tls = (settings.value as { tls?: unknown } | null)?.tls;
  if (tls === null || typeof tls !== "object") return [];
  const out: Finding[] = [];
  for (const field of ["cert", "key"] as const) {
    const entry = (tls as Record<string, unknown>)[field];
    if (typeof entry !== "string" || entry === "") continue;
    const kind = field === "cert" ? "tls-certificate" : "tls-key";
    const read = readNamed(ctx, isAbsolute(entry) ? entry : resolve(ctx.dir, entry), kind);
    if (!read.ok && read.refused) {
      const what = field === "cert" ? "certificate" : "key";
      out.push(
        finding(
          settings.locate(["tls", field]),
          "tls-file-refused",
          "error",
          `TLS ${what} file ${entry} is refused: ${read.problem}`,
        ),
      );
    }
  }
  return out;
}

function trustAnchorFindings(
  settings: ParsedSource,
  ctx: Pick<SemanticContext, "readFile" | "dir" | "purpose">,
): Finding[] {
  const anchors = (settings.value as { trustAnchors?: unknown } | null)?.trustAnchors;
  if (!Array.isArray(anchors)) return [];
  const out: Finding[] = [];
  anchors.forEach((entry: unknown, i) => {
    if (typeof entry !== "string" || entry === BUILT_IN_ANCHORS) return;
    const at = settings.locate(["trustAnchors", i]);
    if (entry.includes("-----BEGIN")) {
      const problem = certificateProblem(entry, "the PEM text");
      if (problem !== null) out.push(finding(at, "trust-anchor-invalid", "error", `trust anchor: ${problem}`));
      return;
    }
    const path = isAbsolute(entry) ? entry : resolve(ctx.dir, entry);
    const read = readNamed(ctx, path, "trust-anchor");
    if (!read.ok && read.refused) {
      out.push(finding(at, "trust-anchor-refused", "error", `trust anchor ${entry} is refused: ${read.problem}`));
    } else if (!read.ok) {
      const inPolicyDir = !relative(ctx.dir, path).startsWith("..") && !isAbsolute(relative(ctx.dir, path));
      const severity = ctx.purpose === "serve" || inPolicyDir ? "error" : "warning";
      out.push(
        finding(
          at,
          "trust-anchor-missing",
          severity,
          `trust anchor ${entry} cannot be read: ${read.problem}; the gate will not load this policy set without it`,
        ),
      );
    } else {
      const problem = certificateProblem(read.text, entry);
      if (problem !== null) out.push(finding(at, "trust-anchor-invalid", "error", `trust anchor ${problem}`));
    }
  });
  return out;
}

/** Why PEM text cannot serve as trust anchors (the gate's own parser decides), or null. */
function certificateProblem(pem: string, source: string): string | null {
  try {
    parsePemCertificates(pem, source);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function targetFindings(d: RuleDraft, ctx: SemanticContext): Finding[] {
  const r = d.rule;
  const out: Finding[] = [];
  if (r.target.kind === "version") {
    const c = compareOsVersions(r.target.version, r.minimum);
    if (c < 0) {
      out.push(
        finding(
          d.at(["target"]),
          "target-below-minimum",
          "error",
          `target ${r.target.text} is below minimum ${r.minimumText}: a device that installs it would still be blocked`,
          r.id,
        ),
      );
    } else if (
      c === 0 &&
      r.targetBuild !== null &&
      r.minimumBuild !== null &&
      compareBuilds(parseBuild(r.targetBuild), r.minimumBuild) < 0
    ) {
      out.push(
        finding(
          d.at(["targetBuild"]),
          "target-below-minimum",
          "error",
          `targetBuild ${r.targetBuild} is below minimumBuild ${r.minimumBuildText ?? ""}: a device that installs it would still be blocked`,
          r.id,
        ),
      );
    }
  } else if (!ctx.availability.resolvesLatest) {
    out.push(
      finding(
        d.at(["target"]),
        "target-needs-feed",
        "error",
        `target: ${r.target.kind} is resolved from Apple's GDMF feed; configure one (--gdmf FILE, or feeds.gdmf in enrollgate.yaml)`,
        r.id,
      ),
    );
  }
  return out;
}

function globFindings(d: RuleDraft): Finding[] {
  const out: Finding[] = [];
  d.globs?.forEach((glob, i) => {
    if (!canMatchPlatform(glob, d.rule.platform)) {
      out.push(
        finding(
          d.at(["models", i]),
          "model-never-matches",
          "error",
          `model "${glob.pattern}" can never match a ${d.rule.platform} device's PRODUCT or SOFTWARE_UPDATE_DEVICE_ID`,
          d.rule.id,
        ),
      );
    }
  });
  return out;
}

function exemptionFinding(d: RuleDraft, now: number | null): Finding | null {
  const until = d.rule.exempt?.until ?? null;
  if (now === null || until === null || until > now) return null;
  return finding(
    d.at(["exempt", "until"]),
    "exemption-expired",
    "warning",
    `the exemption ended ${d.rule.exempt?.untilText ?? ""}; the listed serials are no longer exempt`,
    d.rule.id,
  );
}

function betaProgramFinding(d: RuleDraft, errors: ErrorSchema): Finding | null {
  const r = d.rule;
  if (r.betaProgram === null) return null;
  // Devices this rule can block run versions below the minimum (or at it, when a build is required).
  const reachable = errors.bands(r.platform).some((band) => {
    if (!band.acceptsBetaProgram) return false;
    const c = compareOsVersions(band.from, r.minimum);
    return c < 0 || (c === 0 && r.minimumBuild !== null);
  });
  if (reachable) return null;
  return finding(
    d.at(["betaProgram"], "key"),
    "beta-program-unsupported",
    "warning",
    `no ${r.platform} device below ${r.minimumText} accepts details.RequireBetaProgram; the 403 will not carry the beta program`,
    r.id,
  );
}

/**
 * Whether `a` always decides before `b` could: same devices, active at least as long, never exempt where `b` applies.
 */
function covers(a: Rule, b: Rule): boolean {
  if (a.activeFrom !== null && (b.activeFrom === null || a.activeFrom > b.activeFrom)) return false;
  if (a.exempt !== null) {
    if (b.exempt === null) return false;
    for (const s of a.exempt.serials) if (!b.exempt.serials.has(s)) return false;
    if (a.exempt.until === null ? b.exempt.until !== null : b.exempt.until !== null && a.exempt.until > b.exempt.until)
      return false;
  }
  if (!belowImplies(b, a)) return false;
  if (a.mode === "enforce") return b.mode === "audit" || byStrictness(a, 0, b, 0) < 0;
  return b.mode === "audit" && byStrictness(a, 0, b, 0) < 0;
}

// Pairwise comparison is quadratic in a scope's size; past this many rules in
// one scope only the common case (an unconditional stricter rule) is checked.
const PAIRWISE_LIMIT = 2000;

function unreachable(drafts: ReadonlyArray<RuleDraft>): Finding[] {
  const scopes = new Map<string, RuleDraft[]>();
  for (const d of drafts) {
    const key = `${d.rule.platform}\u0000${d.rule.models === null ? "*" : [...d.rule.models].sort().join("\u0000")}`;
    const list = scopes.get(key) ?? [];
    list.push(d);
    scopes.set(key, list);
  }
  const out: Finding[] = [];
  for (const scope of scopes.values()) {
    if (scope.length < 2) continue;
    const sorted = [...scope].sort((x, y) => byStrictness(x.rule, 0, y.rule, 0));
    let dominant: RuleDraft | null = null; // the strictest unconditional enforce rule so far
    sorted.forEach((b, j) => {
      let by: RuleDraft | undefined;
      if (dominant !== null && covers(dominant.rule, b.rule)) by = dominant;
      else if (scope.length <= PAIRWISE_LIMIT) by = sorted.find((a, i) => i !== j && covers(a.rule, b.rule));
      if (by !== undefined) {
        out.push({
          ...finding(
            b.rule.source,
            "rule-unreachable",
            "warning",
            `rule "${b.rule.id}" never decides: "${by.rule.id}" (${formatLocation(by.rule.source)}) covers the same devices and always decides first`,
            b.rule.id,
          ),
          related: [{ ...by.rule.source, message: `"${by.rule.id}" decides instead` }],
        });
      }
      const r = b.rule;
      if (dominant === null && r.mode === "enforce" && r.activeFrom === null && r.exempt === null) dominant = b;
    });
  }
  return out;
}

/** Every cross-field and cross-file check on the rules. */
export function checkRules(drafts: ReadonlyArray<RuleDraft>, ctx: SemanticContext): Finding[] {
  const out: Finding[] = [];
  for (const d of drafts) {
    append(out, targetFindings(d, ctx));
    append(out, globFindings(d));
    for (const f of [tokenFinding(d, ctx), exemptionFinding(d, ctx.now), betaProgramFinding(d, ctx.errors)]) {
      if (f !== null) out.push(f);
    }
  }
  append(out, unreachable(drafts));
  return out;
}

/**
 * Test cases that expect a rule no policy file defines (a rule with errors is
 * still defined), and case names used twice: a name is how a failure, a JUnit
 * case and a CI annotation tell cases apart.
 */
export function checkTests(cases: ReadonlyArray<TestCase>, ruleIds: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  const byName = new Map<string, TestCase[]>();
  for (const c of cases) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  for (const [name, list] of byName) {
    if (list.length < 2) continue;
    for (const c of list) {
      const others = list.filter((o) => o !== c);
      out.push({
        ...finding(
          c.source,
          "test-duplicate-name",
          "error",
          `test case name "${name}" is also used at ${others.map((o) => formatLocation(o.source)).join(", ")}`,
        ),
        related: others.map((o) => ({ ...o.source, message: `"${name}" used here` })),
      });
    }
  }
  for (const c of cases) {
    const expected = c.expect.rule;
    if (typeof expected === "string" && !ruleIds.has(expected) && c.ruleSource !== null) {
      out.push(
        finding(
          c.ruleSource,
          "test-unknown-rule",
          "error",
          `test "${c.name}" expects rule "${expected}", which no policy file defines`,
          expected,
        ),
      );
    }
  }
  return out;
}
