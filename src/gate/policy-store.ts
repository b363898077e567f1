// The gate's only state: the active policy set with its effective settings
// and trust anchors. A reload compiles a new set (in a worker thread: see
// compile-in-worker.ts) and swaps it in with one assignment; if anything
// fails, the last good set keeps serving.
import { isAbsolute, resolve } from "node:path";
import type { X509Certificate } from "node:crypto";
import { EnrollgateError } from "../errors.js";
import { parsePemCertificates, TrustStore } from "../apple/cms-verify.js";
import { errorSchema } from "../apple/software-update-required.js";
import { APPLE_TRUST_ANCHORS, appleTrustAnchors, bundledAppleSchema } from "../apple/bundled.js";
import { FeedProvider, type FeedFlags } from "../feeds/provider.js";
import { ALWAYS_AVAILABLE } from "../policy/availability.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import { hydrateCompiledSet } from "../policy/compiled-data.js";
import { formatFinding, type Finding } from "../policy/findings.js";
import type { Settings } from "../policy/model.js";
import { describeWeakening, weakenings, type Weakening } from "../policy/weakening.js";
import { FILE_LIMITS, FileRefusedError, readRegularFile } from "../safe-file.js";
import { CompileWorkers, DEFAULT_COMPILE_LIMITS, type CompileLimits } from "./compile-in-worker.js";
import type { Logger } from "./log.js";
import type { GateMetrics } from "./metrics.js";
import { ProxyTrust } from "./trust-proxy.js";

/**
 * Settings given in code or on the command line; they win over enrollgate.yaml. (`tls` is the server's: startServer's
 * `tls` option.)
 */
export type SettingsOverrides = Partial<Omit<Settings, "trustAnchors" | "trustProxy" | "tls">> & {
  /**
   * `apple` (the built-in Apple chain), PEM text, PEM file paths (relative to the working directory), or parsed
   * certificates.
   */
  readonly trustAnchors?: ReadonlyArray<string | X509Certificate>;
  /**
   * Trusted proxies: addresses, CIDR ranges, loopback, linklocal, uniquelocal; a comma list or an array, as in Express.
   */
  readonly trustProxy?: string | ReadonlyArray<string>;
};

export interface ActiveState {
  readonly set: CompiledPolicySet;
  readonly settings: Settings;
  readonly trust: TrustStore;
  /** Changes whenever the trust anchors do; part of the verification cache key. */
  readonly trustGeneration: number;
  /** The peers whose forwarding headers are believed (settings.trustProxy). */
  readonly proxyTrust: ProxyTrust;
}

/** What a reload did: the set now active (and how it weakens the last one), or why the last good set stays. */
export type ReloadResult =
  | {
      readonly ok: true;
      readonly revision: string;
      readonly changed: boolean;
      /** How the new set protects less than the one it replaced (also logged as policy-weakened). */
      readonly weakened: ReadonlyArray<Weakening>;
    }
  | { readonly ok: false; readonly error: string; readonly findings: ReadonlyArray<Finding> };

/** A reload that made its set active. */
export type ReloadSuccess = Extract<ReloadResult, { readonly ok: true }>;

/** A trust anchor file that cannot be used; a reload with it fails. */
export class TrustAnchorError extends EnrollgateError<"trust-anchor-unreadable"> {
  override readonly name = "TrustAnchorError";

  constructor(message: string) {
    super("trust-anchor-unreadable", message);
  }
}

export interface PolicyStoreOptions {
  readonly overrides?: SettingsOverrides;
  /** For beta tokens; default: none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  readonly clock?: () => number;
  readonly logger: Logger;
  readonly metrics: GateMetrics;
  /** Feeds, read or pulled afresh on every reload; the last good data is kept when a source fails. */
  readonly feeds?: { readonly provider: FeedProvider; readonly flags: FeedFlags };
  /**
   * Directories (the operator's, relative to `cwd`) where token files and
   * trust anchors a policy names may be, besides the policy directory.
   */
  readonly secretsDirs?: ReadonlyArray<string>;
  /** The compile worker's memory and time limits. */
  readonly compileLimits?: Partial<CompileLimits>;
}

/** A trust anchor: PEM text, a certificate, or a PEM file (inside `within` when the policy named it). */
async function certificatesFrom(
  entry: string | X509Certificate,
  base: string,
  within?: ReadonlyArray<string>,
): Promise<X509Certificate[]> {
  if (typeof entry !== "string") return [entry];
  // The built-in Apple chain; a PEM file by that name is written ./apple.
  if (entry === APPLE_TRUST_ANCHORS) return appleTrustAnchors();
  if (entry.includes("-----BEGIN CERTIFICATE-----")) return parsePemCertificates(entry, "trust anchor");
  const path = isAbsolute(entry) ? entry : resolve(base, entry);
  let text: string;
  try {
    text = (
      await readRegularFile(path, {
        maxBytes: FILE_LIMITS["trust-anchor"],
        ...(within !== undefined ? { within } : {}),
      })
    ).toString("utf8");
  } catch (e) {
    if (!(e instanceof FileRefusedError)) throw e;
    const why =
      e.problem === "missing" || e.problem === "unreadable"
        ? (e.errno ?? e.message)
        : e.problem === "outside"
          ? "it is outside the policy directory and the secrets directories"
          : e.problem === "not-regular"
            ? `it is ${e.message}`
            : e.message;
    throw new TrustAnchorError(`trust anchor ${entry} cannot be read: ${why}`);
  }
  return parsePemCertificates(text, entry);
}

export class PolicyStore {
  private state: ActiveState | null = null;
  private running: Promise<ReloadResult> | null = null;
  private queued = false;
  private generation = 0;
  private workers: CompileWorkers | null = null;

  constructor(
    private readonly source: { readonly dir: string } | { readonly set: CompiledPolicySet },
    private readonly options: PolicyStoreOptions,
  ) {}

  get active(): ActiveState | null {
    return this.state;
  }

  /** Stops the compile worker kept ready for the next reload. */
  close(): void {
    this.workers?.close();
  }

  /** Whether a reload is under way (the active set keeps answering meanwhile). */
  get reloading(): boolean {
    return this.running !== null;
  }

  /** Compiles and activates; concurrent calls coalesce into one more run. */
  reload(reason = "reload"): Promise<ReloadResult> {
    if (this.running !== null) {
      if (!this.queued) {
        this.queued = true;
        this.running = this.running.then(() => {
          this.queued = false;
          return this.run(reason);
        });
      }
      return this.running;
    }
    this.running = this.run(reason).finally(() => {
      if (!this.queued) this.running = null;
    });
    return this.running;
  }

  private async run(reason: string): Promise<ReloadResult> {
    const { logger, metrics } = this.options;
    logger.debug({ event: "policy-reload-started", reason }, "compiling the policy set");
    let result: ReloadResult;
    try {
      result = await this.build();
    } catch (e) {
      result = { ok: false, error: (e as Error).message, findings: [] };
    }
    if (result.ok) {
      if (result.changed) metrics.reloads.inc();
      logger.info(
        {
          event: "policy-reload",
          reason,
          revision: result.revision,
          changed: result.changed,
          rules: this.state?.set.rules.length,
          trustAnchors: this.state?.trust.certificates.map((c) => c.subjectName),
        },
        result.changed ? "policy set active" : "policy set unchanged",
      );
      if (result.weakened.length > 0) {
        // Perhaps intended, never silent: each change, with its old and new value.
        for (const w of result.weakened) metrics.weakenings.inc({ change: w.change });
        const lines = result.weakened.map(describeWeakening);
        logger.warn(
          { event: "policy-weakened", reason, revision: result.revision, changes: result.weakened.slice(0, 200) },
          `the new policy set protects less: ${lines.slice(0, 10).join("; ")}${lines.length > 10 ? `; and ${lines.length - 10} more` : ""}`,
        );
      }
      const state = this.state;
      // What validate warns of with SOFA: floors that leave actively exploited vulnerabilities open.
      const exposed = state?.set.findings.filter((f) => f.code === "floor-leaves-exploited") ?? [];
      if (result.changed && exposed.length > 0) {
        const rules = [...new Set(exposed.map((f) => f.rule ?? ""))];
        logger.warn(
          {
            event: "floor-leaves-exploited",
            revision: result.revision,
            rules,
            findings: exposed.slice(0, 50).map((f) => formatFinding(f)),
          },
          `${rules.length === 1 ? "rule" : "rules"} ${rules.join(", ")} leave${rules.length === 1 ? "s" : ""} actively exploited vulnerabilities open: ${exposed.map((f) => `${f.rule ?? ""}: ${f.message}`).join("; ")}`,
        );
      }
      const beta = state?.set.rules.filter((r) => r.betaProgram !== null).map((r) => r.id) ?? [];
      if (result.changed && state !== null && state.settings.verify !== "enforce" && beta.length > 0) {
        // The token is in the 403 body: without verification, anyone who sends
        // MachineInfo a beta rule blocks receives it.
        logger.warn(
          { event: "beta-token-exposure", verify: state.settings.verify, rules: beta },
          `beta program tokens go to unverified clients (verify: ${state.settings.verify}); use verify: enforce`,
        );
      }
    } else {
      metrics.reloadFailures.inc();
      logger.error(
        {
          event: "policy-reload-failed",
          reason,
          error: result.error,
          findings: result.findings
            .filter((f) => f.severity === "error")
            .slice(0, 50)
            .map((f) => formatFinding(f, { severity: false })),
          keeping: this.state?.set.revision ?? null,
        },
        this.state === null
          ? "policy set failed to compile; the gate is not ready"
          : "policy set failed to compile; keeping the last good set",
      );
    }
    return result;
  }

  private async build(): Promise<ReloadResult> {
    const { overrides = {}, cwd = process.cwd(), clock = Date.now } = this.options;
    const secretsDirs = (this.options.secretsDirs ?? []).map((d) => resolve(cwd, d));
    let set: CompiledPolicySet;
    if ("set" in this.source) {
      set = this.source.set;
    } else {
      const feeds = this.options.feeds ?? { provider: new FeedProvider({ env: this.options.env ?? {} }), flags: {} };
      this.workers ??= new CompileWorkers({ ...DEFAULT_COMPILE_LIMITS, ...this.options.compileLimits });
      const outcome = await this.workers.compile(
        {
          dir: this.source.dir,
          cwd,
          now: clock(),
          env: { ...(this.options.env ?? {}) },
          secretsDirs,
          feedFlags: feeds.flags,
        },
        feeds.provider,
      );
      for (const problem of outcome.ok ? (outcome.refreshed?.problems ?? []) : []) {
        this.options.metrics.feedFailures.inc();
        this.options.logger.warn(
          { event: "feed-refresh-failed", problem },
          "a feed could not be refreshed; its last good data is in use",
        );
      }
      if (!outcome.ok) return outcome;
      // Rebuilt from plain data: nothing is parsed on this thread.
      set = hydrateCompiledSet(outcome.data, {
        errors: errorSchema(bundledAppleSchema("softwareupdate.required")),
        availability: outcome.refreshed?.availability ?? ALWAYS_AVAILABLE,
        vulnerabilities: outcome.refreshed?.vulnerabilities ?? null,
      });
    }
    const trustProxy =
      overrides.trustProxy === undefined
        ? (set.settings.trustProxy ?? [])
        : typeof overrides.trustProxy === "string"
          ? [overrides.trustProxy]
          : overrides.trustProxy;
    const settings: Settings = { ...set.settings, ...overrides, trustAnchors: set.settings.trustAnchors, trustProxy };
    const proxyTrust = ProxyTrust.parse(settings.trustProxy);
    // Flags and options win over enrollgate.yaml; with neither, Apple's own chain.
    // Anchors the operator gives are theirs; anchors enrollgate.yaml names stay inside the policy's directories.
    const policyDir = "dir" in this.source ? resolve(cwd, this.source.dir) : null;
    const configured = (
      await Promise.all(
        overrides.trustAnchors !== undefined && overrides.trustAnchors.length > 0
          ? overrides.trustAnchors.map((a) => certificatesFrom(a, cwd))
          : settings.trustAnchors.map((a) =>
              policyDir === null
                ? certificatesFrom(a, cwd)
                : certificatesFrom(a, policyDir, [policyDir, ...secretsDirs]),
            ),
      )
    ).flat();
    const anchors = configured.length > 0 ? configured : appleTrustAnchors();
    const previous = this.state;
    const sameAnchors =
      previous !== null &&
      previous.trust.anchors.length === anchors.length &&
      previous.trust.anchors.every((a, i) => a.fingerprint256 === anchors[i]?.fingerprint256);
    let trust: TrustStore;
    try {
      trust = sameAnchors && previous !== null ? previous.trust : new TrustStore(anchors);
    } catch (e) {
      return { ok: false, error: (e as Error).message, findings: [] };
    }
    if (!sameAnchors) this.generation++;
    const changed =
      previous === null ||
      previous.set.revision !== set.revision ||
      !sameAnchors ||
      JSON.stringify(previous.settings) !== JSON.stringify(settings);
    const weakened =
      previous === null || !changed
        ? []
        : weakenings(
            {
              rules: previous.set.rules,
              settings: previous.settings,
              trustAnchors: previous.trust.anchors.map((a) => a.fingerprint256),
            },
            { rules: set.rules, settings, trustAnchors: anchors.map((a) => a.fingerprint256) },
          );
    // The swap: requests already running keep the state they started with.
    this.state = Object.freeze({ set, settings, trust, trustGeneration: this.generation, proxyTrust });
    this.options.metrics.activate(set.revision, set.rules.length);
    return { ok: true, revision: set.revision, changed, weakened };
  }
}
