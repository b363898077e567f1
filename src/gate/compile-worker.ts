// The compile worker's entry (see compile-in-worker.ts): given one compile
// order, reads the policy directory, compiles it for serving, and posts the
// set back as plain data. One compile per worker.
// Snapshot files are read and parsed here; the serving thread, which holds
// the last good feed data, is asked only to merge them and to pull live ADU.
import { parentPort } from "node:worker_threads";
import { InternalError } from "../errors.js";
import { feedAvailability } from "../feeds/availability.js";
import {
  readSnapshots,
  vulnerabilitiesOf,
  type FeedConfig,
  type FeedRule,
  type RefreshResult,
} from "../feeds/provider.js";
import { compileWithFeeds } from "../feeds/with-feeds.js";
import { compiledSetData } from "../policy/compiled-data.js";
import { loadPolicySet, policyFileReader } from "../policy/load.js";
import type { CompileOrder, CompileRequest, FeedReply, WorkerMessage } from "./compile-in-worker.js";

if (parentPort === null) throw new InternalError("compile-worker.js runs as a worker thread");
const port = parentPort;
const post = (message: WorkerMessage) => port.postMessage(message);

/**
 * Reads and parses the snapshots here (under this worker's limits), then asks the serving thread, which keeps the last
 * good data.
 */
async function askForFeeds(config: FeedConfig, rules: ReadonlyArray<FeedRule>): Promise<RefreshResult> {
  const snapshots = await readSnapshots(config);
  return new Promise((resolve) => {
    port.once("message", (reply: FeedReply) =>
      resolve({
        availability: feedAvailability(reply.feeds),
        vulnerabilities: vulnerabilitiesOf(reply.feeds.sofa),
        feeds: reply.feeds,
        problems: reply.problems,
      }),
    );
    post({ type: "feeds", config, rules, snapshots });
  });
}

async function compileFor(request: CompileRequest): Promise<void> {
  const source = await loadPolicySet(request.dir, { cwd: request.cwd });
  const { result } = await compileWithFeeds(
    source,
    {
      now: request.now,
      purpose: "serve",
      env: request.env,
      readFile: policyFileReader(source.dir, request.secretsDirs),
    },
    {
      provider: { refresh: askForFeeds },
      flags: request.feedFlags,
      cwd: request.cwd,
      secretsDirs: request.secretsDirs,
    },
  );
  post({ type: "done", set: result.set === null ? null : compiledSetData(result.set), findings: result.findings });
}

// Started ahead of its compile, with the modules loaded: it waits for the order.
port.once("message", (order: CompileOrder) => {
  compileFor(order.request).catch((e: unknown) =>
    post({ type: "failed", error: e instanceof Error ? e.message : String(e) }),
  );
});
