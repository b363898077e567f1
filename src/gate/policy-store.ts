// The gate's only state: the active policy set with its effective settings
// and trust anchors. A reload compiles a new set and swaps it in with one
// assignment; if anything fails, the last good set keeps serving.
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import type { X509Certificate } from "node:crypto";
import { parsePemCertificates, TrustStore } from "../apple/cms-verify.js";
import { APPLE_TRUST_ANCHORS, appleTrustAnchors } from "../bundled.js";
import { FeedProvider, type FeedFlags } from "../feeds/provider.js";
import { compileWithFeeds } from "../feeds/with-feeds.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import type { Finding } from "../policy/findings.js";
import { loadPolicySet, readTokenFile } from "../policy/load.js";
import type { Settings } from "../policy/model.js";
import type { Logger } from "./log.js";
import type { GateMetrics } from "./metrics.js";

/** Settings given in code or on the command line; they win over enrollgate.yaml. */
export type SettingsOverrides = Partial<Omit<Settings, "trustAnchors">> & {
  /** `apple` (the built-in Apple chain), PEM text, PEM file paths (relative to the working directory), or parsed certificates. */
  readonly trustAnchors?: ReadonlyArray<string | X509Certificate>;
};

export interface ActiveState {
  readonly set: CompiledPolicySet;
  readonly settings: Settings;
  readonly trust: TrustStore;
  /** Changes whenever the trust anchors do; part of the verification cache key. */
  readonly trustGeneration: number;
}

export type ReloadResult =
  | { readonly ok: true; readonly revision: string; readonly changed: boolean }
  | { readonly ok: false; readonly error: string; readonly findings: ReadonlyArray<Finding> };

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
}

async function certificatesFrom(entry: string | X509Certificate, base: string): Promise<X509Certificate[]> {
  if (typeof entry !== "string") return [entry];
  // The built-in Apple chain; a PEM file by that name is written ./apple.
  if (entry === APPLE_TRUST_ANCHORS) return appleTrustAnchors();
  if (entry.includes("-----BEGIN CERTIFICATE-----")) return parsePemCertificates(entry, "trust anchor");
  const path = isAbsolute(entry) ? entry : resolve(base, entry);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`trust anchor ${entry} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parsePemCertificates(text, entry);
}

export class PolicyStore {
  private state: ActiveState | null = null;
  private running: Promise<ReloadResult> | null = null;
  private queued = false;
  private generation = 0;

  constructor(
    private readonly source: { readonly dir: string } | { readonly set: CompiledPolicySet },
    private readonly options: PolicyStoreOptions,
  ) {}

  get active(): ActiveState | null {
    return this.state;
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
    let result: ReloadResult;
    try {
      result = await this.build();
    } catch (e) {
      result = { ok: false, error: (e as Error).message, findings: [] };
    }
    if (result.ok) {
      if (result.changed) metrics.reloads.inc();
      logger.info(
        { event: "policy-reload", reason, revision: result.revision, changed: result.changed, rules: this.state?.set.rules.length, trustAnchors: this.state?.trust.certificates.map((c) => c.subjectName) },
        result.changed ? "policy set active" : "policy set unchanged",
      );
      const state = this.state;
      const beta = state?.set.rules.filter((r) => r.betaProgram !== null).map((r) => r.id) ?? [];
      if (result.changed && state !== null && state.settings.verify !== "enforce" && beta.length > 0) {
        // The token is in the 403 body: without verification, anyone who sends
        // MachineInfo a beta rule blocks receives it.
        logger.warn({ event: "beta-token-exposure", verify: state.settings.verify, rules: beta }, `beta program tokens go to unverified clients (verify: ${state.settings.verify}); use verify: enforce`);
      }
    } else {
      metrics.reloadFailures.inc();
      logger.error(
        {
          event: "policy-reload-failed",
          reason,
          error: result.error,
          findings: result.findings.filter((f) => f.severity === "error").slice(0, 50).map((f) => `${f.file}:${f.line}:${f.column} ${f.code} ${f.message}`),
          keeping: this.state?.set.revision ?? null,
        },
        this.state === null ? "policy set failed to compile; the gate is not ready" : "policy set failed to compile; keeping the last good set",
      );
    }
    return result;
  }

  private async build(): Promise<ReloadResult> {
    const { overrides = {}, cwd = process.cwd(), clock = Date.now } = this.options;
    let set: CompiledPolicySet;
    if ("set" in this.source) {
      set = this.source.set;
    } else {
      const source = await loadPolicySet(this.source.dir, { cwd });
      const feeds = this.options.feeds ?? { provider: new FeedProvider({ env: this.options.env ?? {} }), flags: {} };
      const { result, problems } = await compileWithFeeds(source, { now: clock(), purpose: "serve", env: this.options.env ?? {}, readFile: readTokenFile }, { ...feeds, cwd });
      for (const problem of problems) {
        this.options.metrics.feedFailures.inc();
        this.options.logger.warn({ event: "feed-refresh-failed", problem }, "a feed could not be refreshed; its last good data is in use");
      }
      if (result.set === null) return { ok: false, error: "the policy set has errors", findings: result.findings };
      set = result.set;
    }
    const settings: Settings = { ...set.settings, ...overrides, trustAnchors: set.settings.trustAnchors };
    // Flags and options win over enrollgate.yaml; with neither, Apple's own chain.
    const configured = overrides.trustAnchors !== undefined && overrides.trustAnchors.length > 0
      ? (await Promise.all(overrides.trustAnchors.map((a) => certificatesFrom(a, cwd)))).flat()
      : (await Promise.all(settings.trustAnchors.map((a) => certificatesFrom(a, "dir" in this.source ? resolve(cwd, this.source.dir) : cwd)))).flat();
    const anchors = configured.length > 0 ? configured : appleTrustAnchors();
    const previous = this.state;
    const sameAnchors =
      previous !== null && previous.trust.anchors.length === anchors.length && previous.trust.anchors.every((a, i) => a.fingerprint256 === anchors[i]?.fingerprint256);
    let trust: TrustStore;
    try {
      trust = sameAnchors && previous !== null ? previous.trust : new TrustStore(anchors);
    } catch (e) {
      return { ok: false, error: (e as Error).message, findings: [] };
    }
    if (!sameAnchors) this.generation++;
    const changed = previous === null || previous.set.revision !== set.revision || !sameAnchors || JSON.stringify(previous.settings) !== JSON.stringify(settings);
    // The swap: requests already running keep the state they started with.
    this.state = Object.freeze({ set, settings, trust, trustGeneration: this.generation });
    this.options.metrics.activate(set.revision, set.rules.length);
    return { ok: true, revision: set.revision, changed };
  }
}
