// The standalone gate: `enrollgate serve`. Every request target is read once
// (origin-form, normalised) and its framing headers checked; then /healthz,
// /readyz and /metrics, then the gate, then either the upstream MDM server or
// a JSON answer. Hot reload on changes in the policy directory (debounced)
// and on request. Open connections are capped, and slow ones timed out.
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { createServer, type ServerResponse } from "node:http";
import { EnrollgateError } from "../errors.js";
import { FeedProvider, type FeedFlags } from "../feeds/provider.js";
import { connectionProblem } from "./hop-by-hop.js";
import type { Logger } from "./log.js";
import { GateMetrics } from "./metrics.js";
import { enrollmentGate, type GateOutcome } from "./middleware.js";
import type { Finding } from "../policy/findings.js";
import { describeFailure } from "../policy/policy-set-error.js";
import type { CompileLimits } from "./compile-in-worker.js";
import { PolicyStore, type ReloadResult, type SettingsOverrides } from "./policy-store.js";
import { upstreamProxy } from "./proxy.js";
import { watchPolicies } from "./watch-policies.js";
import { statusOf, type RejectionCode } from "./rejections.js";
import { parseRequestTarget } from "./request-target.js";
import { sendJson } from "./respond.js";
import { settleUnreadBody, type GateRequest } from "./transport.js";
import { clientAddress, headerValues, ProxyTrust } from "./trust-proxy.js";

/** Open connections the gate holds at most, by default; more are closed as they arrive. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** How long a client may take to send its request headers (Node answers 408). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;
/** How long a client may take to send a whole request, body included (Node answers 408). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Options of startServer(): what `enrollgate serve` sets from its flags. */
export interface ServerOptions {
  /** The policy directory, relative to `cwd`. */
  readonly policies: string;
  readonly host: string;
  /** 0 for any free port (the `url` of the running server names it). */
  readonly port: number;
  /** The MDM server allowed requests are proxied to; without one, they get 200 with the decision as JSON. */
  readonly upstream?: URL;
  /** How long the upstream may take to answer before a 504 (default 30 s). */
  readonly upstreamTimeoutMs?: number;
  /** Settings that win over the policy directory's enrollgate.yaml (the flags). */
  readonly overrides: SettingsOverrides;
  readonly logger: Logger;
  /** Where beta tokens come from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Watch the policy directory and reload on changes (default true). */
  readonly watch?: boolean;
  /** Quiet time after a change in the policy directory before it is reloaded (default 250 ms). */
  readonly debounceMs?: number;
  /** The clock decisions use; default Date.now. */
  readonly clock?: () => number;
  /** Feed flags (they win over enrollgate.yaml's feeds). */
  readonly feeds?: FeedFlags;
  /** Provides feed data; default one reading the environment for ADU credentials. */
  readonly feedProvider?: FeedProvider;
  /** Open connections held at most (default DEFAULT_MAX_CONNECTIONS); more are closed on arrival and counted. */
  readonly maxConnections?: number;
  /** Time for a request's headers (default DEFAULT_HEADERS_TIMEOUT_MS). */
  readonly headersTimeoutMs?: number;
  /** Time for a whole request, body included (default DEFAULT_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs?: number;
  /**
   * Directories where beta token files and trust anchors the policies name
   * may be, besides the policy directory (`--secrets-dir`; relative to `cwd`).
   */
  readonly secretsDirs?: ReadonlyArray<string>;
  /** Limits of the worker thread that compiles the policy directory (default 256 MB, 30 s). */
  readonly compileLimits?: Partial<CompileLimits>;
}

/** A gate startServer() started: its address, its policy set's lifecycle, and how to stop it. */
export interface RunningServer {
  /** `http://host:port`, with the port it listens on. */
  readonly url: string;
  readonly store: PolicyStore;
  readonly metrics: GateMetrics;
  /**
   * Recompiles the policy directory (as SIGHUP does for `serve`); never throws. A set that fails keeps the last good
   * one answering.
   */
  reload(reason?: string): Promise<ReloadResult>;
  /** Stops accepting connections, lets requests in flight finish (up to `graceMs`), then resolves. */
  close(graceMs?: number): Promise<void>;
}

type StartupCode = "policy-set-invalid" | "listen-failed";

/**
 * The server did not start: `policy-set-invalid` (with its findings, as enrollmentGate().ready's PolicySetError) or
 * `listen-failed`.
 */
export class StartupError extends EnrollgateError<StartupCode> {
  override readonly name = "StartupError";

  constructor(
    message: string,
    code: StartupCode,
    readonly findings: ReadonlyArray<Finding> = [],
  ) {
    super(code, message);
  }
}

/**
 * The standalone gate, as `enrollgate serve` runs it: the gate on plain
 * `node:http`, with /healthz, /readyz and /metrics, a reverse proxy to
 * `upstream` for allowed requests, hot reload of the policy directory, and
 * caps on connections and slow clients. Resolves once it listens with its
 * first policy set; rejects with a StartupError (`policy-set-invalid`, with
 * the findings, or `listen-failed`) when it cannot.
 *
 * @example
 * import { createLogger } from "enrollgate/gate";
 * import { startServer } from "enrollgate";
 *
 * const server = await startServer({
 *   policies: "policies", host: "0.0.0.0", port: 8443, upstream: new URL("http://127.0.0.1:9000"),
 *   overrides: {}, logger: createLogger(), env: process.env, cwd: process.cwd(),
 * });
 * process.once("SIGTERM", () => void server.close());
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { logger } = options;
  const metrics = new GateMetrics({ processMetrics: true });
  const store = new PolicyStore(
    { dir: options.policies },
    {
      overrides: options.overrides,
      env: options.env,
      cwd: options.cwd,
      logger,
      metrics,
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      feeds: { provider: options.feedProvider ?? new FeedProvider({ env: options.env }), flags: options.feeds ?? {} },
      ...(options.secretsDirs !== undefined ? { secretsDirs: options.secretsDirs } : {}),
      ...(options.compileLimits !== undefined ? { compileLimits: options.compileLimits } : {}),
    },
  );
  const gate = enrollmentGate({
    policies: options.policies,
    store,
    logger,
    metrics,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });

  // Plain node:http: three fixed endpoints need no router, and every request
  // pays for one (the middleware itself still mounts in any Express app).
  const proxy =
    options.upstream !== undefined
      ? upstreamProxy({ upstream: options.upstream, timeoutMs: options.upstreamTimeoutMs ?? 30_000, logger, metrics })
      : null;
  const after = (req: GateRequest, res: ServerResponse & { locals?: Record<string, unknown> }, target: string) => {
    if (proxy !== null) return proxy(req, res, target);
    // No upstream: answer allowed requests with the decision (usable as an auth subrequest).
    const outcome = res.locals?.enrollgate as GateOutcome;
    settleUnreadBody(req, res, 200, store.active?.settings.bodyLimit ?? 0);
    sendJson(res, 200, {
      decision: outcome.decision.decision,
      reason: outcome.decision.reason,
      rule: outcome.decision.rule,
      revision: outcome.revision,
      decisionId: outcome.decisionId,
    });
  };
  const fail = (req: GateRequest, res: ServerResponse, err: unknown) => {
    logger.error({ event: "internal-error", err, path: req.url }, "request failed");
    if (res.headersSent) res.destroy();
    else sendJson(res, 500, { error: "internal", message: "the request failed; see the gate's log" });
  };
  const endpoints: Record<string, (res: ServerResponse) => void> = {
    "/healthz": (res) => sendJson(res, 200, { status: "ok" }),
    "/readyz": (res) => {
      const active = store.active;
      const reloading = store.reloading;
      sendJson(
        res,
        active === null ? 503 : 200,
        active === null
          ? { status: "not ready", reloading }
          : { status: "ready", revision: active.set.revision, rules: active.set.rules.length, reloading },
      );
    },
    "/metrics": (res) => {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" });
          res.end(text);
        },
        (err: unknown) => fail({ url: "/metrics" } as GateRequest, res, err),
      );
    },
  };
  /** A request refused before any routing: its target or its framing headers cannot be read one way only. */
  const refuse = (req: GateRequest, res: ServerResponse, code: RejectionCode, message: string) => {
    const status = statusOf(code);
    const client = clientAddress(req, store.active?.proxyTrust ?? ProxyTrust.NONE);
    metrics.rejections.inc({ status: String(status), code });
    logger.warn(
      {
        event: "rejected",
        status,
        code,
        problem: message,
        method: req.method,
        target: (req.url ?? "").slice(0, 2048),
        client: client.address,
        peer: client.peer,
      },
      "request rejected",
    );
    settleUnreadBody(req, res, status, store.active?.settings.bodyLimit ?? 0);
    sendJson(res, status, { error: code, message });
  };
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      // How often Node checks those two: often enough that they hold to about a second.
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    },
    (req: GateRequest, res) => {
      const target = parseRequestTarget(req.url ?? "");
      if (!target.ok) return refuse(req, res, target.code, target.message);
      if (headerValues(req, "host").length > 1)
        return refuse(req, res, "bad-host-header", "the request has more than one Host header");
      const connection = connectionProblem(req);
      if (connection !== null) return refuse(req, res, "bad-connection-header", connection);
      // From here on, routing, the gate, its log and the upstream all read the normalised target.
      const normalised = `${target.path}${target.query === null ? "" : `?${target.query}`}`;
      req.url = normalised;
      const endpoint = req.method === "GET" ? endpoints[target.path] : undefined;
      if (endpoint !== undefined) return endpoint(res);
      gate(req, res, (err?: unknown) => {
        if (err !== undefined) return fail(req, res, err);
        try {
          after(req, res, normalised);
        } catch (e) {
          fail(req, res, e);
        }
      });
    },
  );
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  let dropped = 0;
  let dropLogged = 0;
  server.on("drop", () => {
    metrics.droppedConnections.inc();
    dropped++;
    // One warning per ten seconds at most: a flood must not flood the log too.
    const now = Date.now();
    if (now - dropLogged >= 10_000) {
      logger.warn(
        { event: "connections-dropped", dropped, maxConnections: server.maxConnections },
        `at ${server.maxConnections} open connections; new ones are closed on arrival`,
      );
      dropLogged = now;
      dropped = 0;
    }
  });

  const first = await store.reload("start");
  if (!first.ok)
    throw new StartupError(
      describeFailure(options.policies, first.error, first.findings),
      "policy-set-invalid",
      first.findings,
    );

  await new Promise<void>((ok, no) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      no(new StartupError(`cannot listen on ${options.host}:${options.port}: ${e.code ?? e.message}`, "listen-failed")),
    );
    server.listen(options.port, options.host, ok);
  });
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  // Reload once the directory has been quiet for debounceMs (a git checkout
  // writes many files), but no later than 4 × debounceMs after the first
  // change: a directory that never goes quiet must still be reloaded.
  let timer: NodeJS.Timeout | null = null;
  let firstChange: number | null = null;
  const debounceMs = options.debounceMs ?? 250;
  const debounced = () => {
    if (timer !== null) clearTimeout(timer);
    const now = Date.now();
    firstChange ??= now;
    timer = setTimeout(
      () => {
        timer = null;
        firstChange = null;
        void store.reload("policy directory changed");
      },
      Math.max(0, Math.min(debounceMs, firstChange + 4 * debounceMs - now)),
    );
  };
  const unwatch =
    options.watch === false
      ? () => undefined
      : watchPolicies(resolve(options.cwd, options.policies), debounced, logger);

  const active = store.active;
  logger.info(
    {
      event: "listening",
      url,
      revision: active?.set.revision,
      rules: active?.set.rules.length,
      verify: active?.settings.verify,
      format: active?.settings.format,
      trustAnchors: active?.trust.size,
      upstream: options.upstream?.origin ?? null,
    },
    `enrollgate listening on ${url}`,
  );
  if (active?.settings.verify !== "enforce") {
    logger.warn(
      { event: "verification", verify: active?.settings.verify },
      `MachineInfo verification is ${active?.settings.verify ?? "?"}: unverified device facts are trusted`,
    );
  }

  return {
    url,
    store,
    metrics,
    reload: (reason) => store.reload(reason),
    close(graceMs = 10_000) {
      unwatch();
      if (timer !== null) clearTimeout(timer);
      store.close();
      return new Promise((done) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        // A keep-alive connection goes idle when its last request finishes:
        // close those as they appear, so the drain ends with the last request.
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(force);
          clearInterval(idle);
          done();
        });
        server.closeIdleConnections();
      });
    },
  };
}
