// The standalone gate: `enrollgate serve`. Every request target is read once
// (origin-form, normalised) and its framing headers checked; then /healthz,
// /readyz and /metrics (unless an admin listener serves them), then the gate,
// then either the upstream MDM server or a JSON answer. HTTP, or HTTPS with a
// certificate re-read when its files change. Hot reload on changes in the
// policy directory (debounced) and on request. Open connections are capped,
// and slow ones timed out.
import { realpath } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { EnrollgateError } from "../errors.js";
import type { TlsSettings } from "../policy/model.js";
import { adminEndpoints, createAdminServer, DEFAULT_ADMIN_HOST, isAdminPath } from "./admin.js";
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
import { readTlsCredentials, secureContextOptions, ServingCertificate, TlsError } from "./tls.js";
import type { TlsCredentials, TlsFiles, TlsReloadResult } from "./tls.js";
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
   * Directories where beta token files, trust anchors and TLS files the policies name
   * may be, besides the policy directory (`--secrets-dir`; relative to `cwd`).
   */
  readonly secretsDirs?: ReadonlyArray<string>;
  /** Limits of the worker thread that compiles the policy directory (default 256 MB, 30 s). */
  readonly compileLimits?: Partial<CompileLimits>;
  /**
   * HTTPS (TLS 1.2 or later) with this PEM certificate (and chain) and key, relative to `cwd` (`--tls-cert`,
   * `--tls-key`); they win over enrollgate.yaml's `tls`. Re-read by reloadTls() and when the files change.
   */
  readonly tls?: { readonly cert: string; readonly key: string };
  /**
   * A second, plain HTTP listener for /healthz, /readyz and /metrics (`--admin-port`, `--admin-host`; host default
   * DEFAULT_ADMIN_HOST). With it, the enrollment listener passes those paths on like any other.
   */
  readonly admin?: { readonly port: number; readonly host?: string };
}

/** A gate startServer() started: its address, its policy set's lifecycle, and how to stop it. */
export interface RunningServer {
  /** `http://host:port` (`https://` with TLS), with the port it listens on. */
  readonly url: string;
  /** The admin listener's `http://host:port`, or null when /healthz, /readyz and /metrics are on `url`. */
  readonly adminUrl: string | null;
  readonly store: PolicyStore;
  readonly metrics: GateMetrics;
  /**
   * Recompiles the policy directory (as SIGHUP does for `serve`); never throws. A set that fails keeps the last good
   * one answering.
   */
  reload(reason?: string): Promise<ReloadResult>;
  /**
   * Re-reads the TLS certificate and key (as SIGHUP does for `serve`); never throws. A pair that cannot be used keeps
   * the one serving. Null when the gate serves plain HTTP.
   */
  reloadTls(reason?: string): Promise<TlsReloadResult | null>;
  /** Stops accepting connections, lets requests in flight finish (up to `graceMs`), then resolves. */
  close(graceMs?: number): Promise<void>;
}

type StartupCode = "policy-set-invalid" | "listen-failed" | "tls-unusable";

/**
 * The server did not start: `policy-set-invalid` (with its findings, as enrollmentGate().ready's PolicySetError),
 * `tls-unusable` (the certificate or key cannot be read or used) or `listen-failed`.
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

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** The TLS files to serve: the operator's (anywhere), else enrollgate.yaml's (confined to the policy's directories). */
function tlsFilesFrom(
  options: ServerOptions,
  settings: TlsSettings | undefined,
  policyDir: string,
  secretsDirs: ReadonlyArray<string>,
): TlsFiles | null {
  if (options.tls !== undefined)
    return { cert: resolve(options.cwd, options.tls.cert), key: resolve(options.cwd, options.tls.key) };
  if (settings === undefined) return null;
  return {
    cert: resolve(policyDir, settings.cert),
    key: resolve(policyDir, settings.key),
    within: [policyDir, ...secretsDirs],
  };
}

const sameFiles = (a: TlsFiles | null, b: TlsFiles | null) => a?.cert === b?.cert && a?.key === b?.key;

/** Listens, or rejects with a StartupError naming the address. */
function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise<string>((ok, no) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      no(new StartupError(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`, "listen-failed")),
    );
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      ok(`${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`);
    });
  });
}

/**
 * The standalone gate, as `enrollgate serve` runs it: the gate on plain
 * `node:http` (or `node:https`, with `tls` here or in enrollgate.yaml), with
 * /healthz, /readyz and /metrics (on their own listener with `admin`), a
 * reverse proxy to `upstream` for allowed requests, hot reload of the policy
 * directory and of the certificate, and caps on connections and slow
 * clients. Resolves once it listens with its first policy set; rejects with
 * a StartupError (`policy-set-invalid`, with the findings, `tls-unusable` or
 * `listen-failed`) when it cannot.
 *
 * @example
 * import { createLogger } from "enrollgate/gate";
 * import { startServer } from "enrollgate";
 *
 * const server = await startServer({
 *   policies: "policies", host: "0.0.0.0", port: 8443, upstream: new URL("http://127.0.0.1:9000"),
 *   tls: { cert: "/run/secrets/tls/tls.crt", key: "/run/secrets/tls/tls.key" }, admin: { port: 9090 },
 *   overrides: {}, logger: createLogger(), env: process.env, cwd: process.cwd(),
 * });
 * process.once("SIGTERM", () => void server.close());
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { logger } = options;
  const metrics = new GateMetrics({ processMetrics: true });
  const policyDir = resolve(options.cwd, options.policies);
  const secretsDirs = (options.secretsDirs ?? []).map((d) => resolve(options.cwd, d));
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
    // No upstream: answer allowed requests with the decision. (Not for an auth
    // subrequest: nginx's auth_request sends no body, so the gate would not see
    // a MachineInfo body; see docs/deployment.md.)
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
  let stopping = false;
  const endpoints = adminEndpoints({
    store,
    metrics,
    stopping: () => stopping,
    fail: (res, err) => fail({ url: "/metrics" } as GateRequest, res, err),
  });
  const admin =
    options.admin === undefined
      ? null
      : createAdminServer(endpoints, { headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS });
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
  const handle: RequestListener = (req: GateRequest, res) => {
    const target = parseRequestTarget(req.url ?? "");
    if (!target.ok) return refuse(req, res, target.code, target.message);
    if (headerValues(req, "host").length > 1)
      return refuse(req, res, "bad-host-header", "the request has more than one Host header");
    const connection = connectionProblem(req);
    if (connection !== null) return refuse(req, res, "bad-connection-header", connection);
    // From here on, routing, the gate, its log and the upstream all read the normalised target.
    const normalised = `${target.path}${target.query === null ? "" : `?${target.query}`}`;
    req.url = normalised;
    // With an admin listener, these paths are the upstream's like any other.
    if (admin === null && req.method === "GET" && isAdminPath(target.path)) return endpoints[target.path](res);
    gate(req, res, (err?: unknown) => {
      if (err !== undefined) return fail(req, res, err);
      try {
        after(req, res, normalised);
      } catch (e) {
        fail(req, res, e);
      }
    });
  };

  const first = await store.reload("start");
  if (!first.ok) {
    store.close();
    throw new StartupError(
      describeFailure(options.policies, first.error, first.findings),
      "policy-set-invalid",
      first.findings,
    );
  }

  // HTTPS when the flags or the first policy set's enrollgate.yaml say so.
  // Whether the listener speaks TLS is fixed now; which certificate it serves is not.
  let tlsFiles = tlsFilesFrom(options, store.active?.settings.tls, policyDir, secretsDirs);
  let credentials: TlsCredentials | null = null;
  if (tlsFiles !== null) {
    try {
      credentials = await readTlsCredentials(tlsFiles);
    } catch (e) {
      store.close();
      if (e instanceof TlsError) throw new StartupError(e.message, "tls-unusable");
      throw e;
    }
  }
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const httpOptions = {
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    // How often Node checks those two: often enough that they hold to about a second.
    connectionsCheckingInterval: Math.min(1000, headersTimeout),
  };
  const secure =
    credentials === null
      ? null
      : // A handshake is held to the same time as the headers that follow it.
        createHttpsServer(
          { ...httpOptions, ...secureContextOptions(credentials), handshakeTimeout: headersTimeout },
          handle,
        );
  const server: Server = secure ?? createServer(httpOptions, handle);
  if (secure !== null) {
    // Old protocol versions, scanners, clients that are not TLS: counted, not logged (anyone can cause them).
    secure.on("tlsClientError", (e: Error) => {
      metrics.tlsHandshakeFailures.inc();
      logger.debug({ event: "tls-handshake-failed", error: e.message }, "TLS handshake failed");
    });
  }
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

  let address: string;
  let adminAddress: string | null = null;
  try {
    address = await listen(server, options.port, options.host);
    if (admin !== null && options.admin !== undefined)
      adminAddress = await listen(admin, options.admin.port, options.admin.host ?? DEFAULT_ADMIN_HOST);
  } catch (e) {
    store.close();
    server.close();
    throw e;
  }
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
  const url = `${credentials === null ? "http" : "https"}://${address}`;
  const adminUrl = adminAddress === null ? null : `http://${adminAddress}`;

  const certificate =
    secure === null || credentials === null || tlsFiles === null
      ? null
      : new ServingCertificate(tlsFiles, credentials, secure, {
          logger,
          metrics,
          watch: options.watch !== false,
          ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
        });
  if (tlsFiles !== null && options.tls === undefined) void warnKeyInPolicyDir(tlsFiles);

  /** A private key in the policy directory is a key in the policy repository: served, but never quietly. */
  async function warnKeyInPolicyDir(files: TlsFiles): Promise<void> {
    const key = await realpath(files.key).catch(() => files.key);
    const [policies, ...secrets] = await Promise.all(
      [policyDir, ...secretsDirs].map((d) => realpath(d).catch(() => d)),
    );
    if (policies !== undefined && isInside(key, policies) && !secrets.some((d) => isInside(key, d)))
      logger.warn(
        { event: "tls-key-in-policy-dir", key: files.key },
        "the TLS private key is inside the policy directory (a git repository?); mount it in a --secrets-dir instead",
      );
  }

  /** After a policy reload: follow enrollgate.yaml's `tls` to new files, or say what needs a restart. */
  async function followTlsSettings(): Promise<void> {
    if (options.tls !== undefined) return; // the flags win, whatever enrollgate.yaml says
    const wanted = tlsFilesFrom(options, store.active?.settings.tls, policyDir, secretsDirs);
    if (sameFiles(wanted, tlsFiles)) return;
    if (certificate !== null && wanted !== null) {
      const result = await certificate.use(wanted, "enrollgate.yaml tls changed");
      if (result.ok) {
        tlsFiles = wanted;
        void warnKeyInPolicyDir(wanted);
      }
      return;
    }
    logger.warn(
      { event: "tls-restart-needed", tls: store.active?.settings.tls ?? null },
      certificate === null
        ? "enrollgate.yaml now names a TLS certificate; the gate serves plain HTTP until it is restarted"
        : "enrollgate.yaml no longer names a TLS certificate; the gate keeps serving HTTPS with the one it has until it is restarted",
    );
    tlsFiles = wanted;
  }

  const reload = async (reason: string): Promise<ReloadResult> => {
    const result = await store.reload(reason);
    if (result.ok && result.changed) await followTlsSettings();
    return result;
  };

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
        void reload("policy directory changed");
      },
      Math.max(0, Math.min(debounceMs, firstChange + 4 * debounceMs - now)),
    );
  };
  const unwatch = options.watch === false ? () => undefined : watchPolicies(policyDir, debounced, logger);

  const active = store.active;
  logger.info(
    {
      event: "listening",
      url,
      admin: adminUrl,
      revision: active?.set.revision,
      rules: active?.set.rules.length,
      verify: active?.settings.verify,
      format: active?.settings.format,
      trustAnchors: active?.trust.size,
      upstream: options.upstream?.origin ?? null,
      tls:
        credentials === null
          ? null
          : {
              subject: credentials.subject,
              fingerprint256: credentials.fingerprint256,
              notAfter: credentials.notAfter.toISOString(),
            },
    },
    `enrollgate listening on ${url}${adminUrl === null ? "" : `; /healthz, /readyz and /metrics on ${adminUrl}`}`,
  );
  if (active?.settings.verify !== "enforce") {
    logger.warn(
      { event: "verification", verify: active?.settings.verify },
      `MachineInfo verification is ${active?.settings.verify ?? "?"}: unverified device facts are trusted`,
    );
  }

  const closeServer = (s: Server, graceMs: number) =>
    new Promise<void>((done) => {
      const force = setTimeout(() => s.closeAllConnections(), graceMs);
      // A keep-alive connection goes idle when its last request finishes:
      // close those as they appear, so the drain ends with the last request.
      const idle = setInterval(() => s.closeIdleConnections(), 50);
      s.close(() => {
        clearTimeout(force);
        clearInterval(idle);
        done();
      });
      s.closeIdleConnections();
    });

  return {
    url,
    adminUrl,
    store,
    metrics,
    reload: (reason = "reload") => reload(reason),
    reloadTls: async (reason = "reload") => (certificate === null ? null : certificate.reload(reason)),
    async close(graceMs = 10_000) {
      // /readyz says so at once (on the admin listener, which stays up through
      // the drain), so that load balancers stop sending before the port closes.
      stopping = true;
      unwatch();
      if (timer !== null) clearTimeout(timer);
      certificate?.close();
      store.close();
      await closeServer(server, graceMs);
      if (admin !== null) await closeServer(admin, 1000);
    },
  };
}
