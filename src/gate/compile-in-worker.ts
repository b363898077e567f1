// Compiling a policy directory off the serving thread. The gate's thread
// answers devices and /healthz; reading and parsing policy files (which a
// policy change controls: a nesting bomb, a huge file) happens in a worker
// thread with its own heap, capped, and a time limit. Whatever the worker
// meets, the worst outcome is a failed reload: the worker is stopped and the
// last good set keeps answering.
//
// The worker is always the built file, dist/gate/compile-worker.js, found
// from the package root: so the package runs it from dist/, and tests that
// import src/ under vitest run the same built worker (`npm test` builds
// first). The two sides exchange plain data only (CompiledSetData, feed data).
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { FeedConfig, FeedData, FeedFlags, FeedRule, RefreshResult, SnapshotReads } from "../feeds/provider.js";
import type { CompiledSetData } from "../policy/compiled-data.js";
import type { Finding } from "../policy/findings.js";
import { packageFile } from "../paths.js";

export const COMPILE_WORKER = packageFile("dist", "gate", "compile-worker.js");

/**
 * How much the worker thread that compiles a policy directory may use; past either, it is stopped and the compile
 * fails.
 */
export interface CompileLimits {
  /** The worker's V8 old-generation heap, in MB (default 256). */
  readonly memoryMb: number;
  /** Wall time the worker may take, in ms, not counting feeds the serving thread reads or pulls (default 30,000). */
  readonly timeoutMs: number;
}

export const DEFAULT_COMPILE_LIMITS: CompileLimits = Object.freeze({ memoryMb: 256, timeoutMs: 30_000 });

/** What the worker is asked to compile. */
export interface CompileRequest {
  readonly dir: string;
  readonly cwd: string;
  readonly now: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Absolute. */
  readonly secretsDirs: ReadonlyArray<string>;
  readonly feedFlags: FeedFlags;
}

/** Serving thread → worker: the compile to run (the worker was started ahead of it). */
export interface CompileOrder {
  readonly type: "compile";
  readonly request: CompileRequest;
}

/** Worker → serving thread. */
export type WorkerMessage =
  /** The feeds the set needs: snapshot files already read and parsed here, live ADU to pull. */
  | {
      readonly type: "feeds";
      readonly config: FeedConfig;
      readonly rules: ReadonlyArray<FeedRule>;
      readonly snapshots: SnapshotReads;
    }
  | { readonly type: "done"; readonly set: CompiledSetData | null; readonly findings: ReadonlyArray<Finding> }
  | { readonly type: "failed"; readonly error: string };

/** Serving thread → worker: the feeds it asked for. */
export interface FeedReply {
  readonly feeds: FeedData;
  readonly problems: ReadonlyArray<string>;
}

export type WorkerCompileOutcome =
  | {
      readonly ok: true;
      readonly data: CompiledSetData;
      readonly findings: ReadonlyArray<Finding>;
      readonly refreshed: RefreshResult | null;
    }
  | { readonly ok: false; readonly error: string; readonly findings: ReadonlyArray<Finding> };

export interface FeedRefresher {
  refresh(config: FeedConfig, rules: ReadonlyArray<FeedRule>, snapshots?: SnapshotReads): Promise<RefreshResult>;
}

/** A started worker, and what happened to it while it waited. */
interface Started {
  readonly worker: Worker;
  /** Set if it failed or exited before it was given a compile. */
  dead: string | null;
}

/**
 * The compile workers of one policy store. Each compile gets a fresh worker
 * (a clean heap, the whole limit, nothing left over from an earlier compile);
 * the next one is started as soon as a compile ends, so that a reload does
 * not wait for a worker to load its modules. The idle one does not keep the
 * process alive.
 */
export class CompileWorkers {
  private spare: Started | null = null;
  private closed = false;

  constructor(private readonly limits: CompileLimits = DEFAULT_COMPILE_LIMITS) {}

  private start(): Started {
    const worker = new Worker(COMPILE_WORKER, {
      // Not the serving process's flags (an inspector, a profiler): the worker runs our own code only.
      execArgv: [],
      resourceLimits: {
        maxOldGenerationSizeMb: this.limits.memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.min(32, Math.floor(this.limits.memoryMb / 8))),
        stackSizeMb: 4,
      },
    });
    const started: Started = { worker, dead: null };
    // Until it is given a compile: a failure only marks it (an 'error' without a listener would throw).
    worker.on("error", (e) => (started.dead ??= e.message));
    worker.on("exit", (code) => (started.dead ??= `exit code ${code}`));
    worker.unref();
    return started;
  }

  /** Stops the idle worker; compiles already running finish. */
  close(): void {
    this.closed = true;
    if (this.spare !== null) void this.spare.worker.terminate();
    this.spare = null;
  }

  compile(request: CompileRequest, feeds: FeedRefresher): Promise<WorkerCompileOutcome> {
    if (!existsSync(COMPILE_WORKER)) {
      return Promise.resolve({
        ok: false,
        error: `the compile worker ${COMPILE_WORKER} is missing; build the package (npm run build)`,
        findings: [],
      });
    }
    const spare = this.spare;
    this.spare = null;
    const { worker } = spare !== null && spare.dead === null ? spare : this.start();
    const limits = this.limits;
    return new Promise<WorkerCompileOutcome>((resolve) => {
      let settled = false;
      let refreshed: RefreshResult | null = null;
      let timer: NodeJS.Timeout | null = null;
      let budget = limits.timeoutMs;
      let started = 0;
      const finish = (outcome: WorkerCompileOutcome) => {
        if (settled) return;
        settled = true;
        if (timer !== null) clearTimeout(timer);
        void worker.terminate();
        if (!this.closed) this.spare = this.start();
        resolve(outcome);
      };
      const fail = (error: string) => finish({ ok: false, error, findings: [] });
      const run = () => {
        started = Date.now();
        timer = setTimeout(
          () => fail(`compiling the policy set took longer than ${limits.timeoutMs / 1000} s; the compile was stopped`),
          budget,
        );
      };
      const pause = () => {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        budget = Math.max(0, budget - (Date.now() - started));
      };
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "feeds") {
          // Feeds stay with the serving thread's provider (it keeps the last good data across reloads);
          // snapshot files were read and parsed here in the worker, never on the serving thread.
          pause();
          feeds.refresh(message.config, message.rules, message.snapshots).then(
            (result) => {
              if (settled) return;
              refreshed = result;
              const reply: FeedReply = { feeds: result.feeds, problems: result.problems };
              worker.postMessage(reply);
              run();
            },
            (e: unknown) => fail((e as Error).message),
          );
        } else if (message.type === "done") {
          if (message.set === null)
            finish({ ok: false, error: "the policy set has errors", findings: message.findings });
          else finish({ ok: true, data: message.set, findings: message.findings, refreshed });
        } else {
          fail(message.error);
        }
      });
      worker.on("error", (e: Error & { code?: string }) => {
        fail(
          e.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? `compiling the policy set needed more than the ${limits.memoryMb} MB it may use; the compile was stopped`
            : `the compile worker failed: ${e.message}`,
        );
      });
      worker.on("exit", (code) => fail(`the compile worker stopped (exit code ${code}) before it finished`));
      // While it compiles, the worker keeps the process alive (an app may be awaiting ready with nothing else open).
      worker.ref();
      const order: CompileOrder = { type: "compile", request };
      worker.postMessage(order);
      run();
    });
  }
}
