// `enrollgate serve`: the standalone gate, optionally in front of an MDM server.
import { Option, type Command } from "commander";
import type { Settings } from "../../policy/model.js";
import type { SettingsOverrides } from "../../gate/policy-store.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addFeedOptions, feedFlags, type FeedFlagOptions } from "../feed-options.js";
import { DEFAULT_COMPILE_LIMITS } from "../../gate/compile-in-worker.js";
import { addSecretsDirOption, choice } from "../options.js";

interface ServeOptions extends FeedFlagOptions {
  policies: string;
  port?: string;
  host: string;
  upstream?: string;
  upstreamTimeout: string;
  format?: Settings["format"];
  verify?: Settings["verify"];
  trustAnchor?: string[];
  bodyLimit?: string;
  bodyTimeout?: string;
  trustProxy?: string[];
  maxConnections: string;
  missingMachineInfo?: Settings["noMachineInfo"];
  logLevel: string;
  watch: boolean;
  secretsDir?: string[];
  compileMemory: string;
  compileTimeout: string;
  tlsCert?: string;
  tlsKey?: string;
  adminPort?: string;
  adminHost?: string;
}

function integer(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return n;
}

/** --trust-proxy values, checked here so that a typo is a usage error, not a failed start. */
async function trustProxy(values: string[]): Promise<string[]> {
  const { ProxyTrust } = await import("../../gate/trust-proxy.js");
  try {
    ProxyTrust.parse(values);
  } catch (e) {
    throw new UsageError(`--trust-proxy: ${(e as Error).message}`);
  }
  return values;
}

export function registerServe(program: Command, io: CliIO, exit: (code: ExitCode) => void): void {
  const command = program
    .command("serve")
    .description("run the gate: an HTTP server that answers devices below their minimum with Apple's 403")
    .option("--policies <dir>", "the policy directory", "policies")
    .option("--port <n>", "port to listen on (default: $PORT, else 8080)")
    .option("--host <host>", "address to listen on", "0.0.0.0")
    .option("--upstream <url>", "reverse-proxy allowed requests to this MDM server (e.g. http://127.0.0.1:9000)")
    .option("--upstream-timeout <ms>", "how long the upstream may take to answer", "30000")
    .addOption(
      choice("--format <format>", "403 body format: json, plist, or negotiate on Accept (overrides enrollgate.yaml)", [
        "json",
        "plist",
        "negotiate",
      ]),
    )
    .addOption(
      choice("--verify <mode>", "MachineInfo signatures: enforce, audit or off (overrides enrollgate.yaml)", [
        "enforce",
        "audit",
        "off",
      ]),
    )
    .option(
      "--trust-anchor <apple|pem>",
      "what MachineInfo signers chain to: apple (Apple's device CA chain, built in; the default) or a PEM file of CA certificates; repeatable",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option("--body-limit <bytes>", "largest MachineInfo accepted (default 65536)")
    .option("--body-timeout <ms>", "time a MachineInfo body may take to arrive before a 408 (default 10000)")
    .option(
      "--trust-proxy <addresses>",
      "peers whose X-Forwarded-*, Forwarded and X-Real-IP are believed: addresses, CIDR ranges, loopback, linklocal, uniquelocal; comma list, repeatable",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option("--max-connections <n>", "open connections held at most; more are closed on arrival", "1024")
    .addOption(
      choice(
        "--missing-machine-info <what>",
        "what a request without MachineInfo gets: allow or reject (overrides enrollgate.yaml)",
        ["allow", "reject"],
      ),
    )
    .addOption(
      new Option("--log-level <level>", "pino log level")
        .choices(["trace", "debug", "info", "warn", "error", "fatal"])
        .default("info"),
    )
    .option("--no-watch", "do not reload when the policy directory or the TLS files change (SIGHUP still reloads)")
    .option(
      "--tls-cert <file>",
      "serve HTTPS (TLS 1.2 or later) with this PEM certificate and chain; with --tls-key (overrides enrollgate.yaml's tls)",
    )
    .option("--tls-key <file>", "the PEM private key of --tls-cert, not encrypted")
    .option("--admin-port <n>", "serve /healthz, /readyz and /metrics on this port, and not on --port")
    .option(
      "--admin-host <host>",
      "address of the admin listener (default 127.0.0.1; 0.0.0.0 for probes from outside the host)",
    )
    .option(
      "--compile-memory <mb>",
      "heap of the worker thread that compiles the policies, in MB",
      String(DEFAULT_COMPILE_LIMITS.memoryMb),
    )
    .option(
      "--compile-timeout <ms>",
      "how long compiling the policies may take",
      String(DEFAULT_COMPILE_LIMITS.timeoutMs),
    );
  addFeedOptions(addSecretsDirOption(command)).action(async (options: ServeOptions) => {
    const port = integer(options.port ?? io.env.PORT ?? "8080", "--port", 0, 65535);
    let upstream: URL | undefined;
    if (options.upstream !== undefined) {
      try {
        upstream = new URL(options.upstream);
      } catch {
        throw new UsageError(`--upstream ${JSON.stringify(options.upstream)} is not a URL`);
      }
      if (upstream.protocol !== "http:" && upstream.protocol !== "https:")
        throw new UsageError("--upstream must be an http:// or https:// URL");
    }
    if ((options.tlsCert === undefined) !== (options.tlsKey === undefined))
      throw new UsageError("--tls-cert and --tls-key go together: give both, or neither");
    if (options.adminHost !== undefined && options.adminPort === undefined)
      throw new UsageError("--admin-host needs --admin-port");
    const adminPort =
      options.adminPort === undefined ? undefined : integer(options.adminPort, "--admin-port", 0, 65535);
    if (adminPort !== undefined && adminPort !== 0 && adminPort === port)
      throw new UsageError(`--admin-port ${adminPort} is the port enrollment is served on (--port); choose another`);
    const overrides: SettingsOverrides = {
      ...(options.format !== undefined ? { format: options.format } : {}),
      ...(options.verify !== undefined ? { verify: options.verify } : {}),
      ...(options.trustAnchor !== undefined ? { trustAnchors: options.trustAnchor } : {}),
      ...(options.bodyLimit !== undefined
        ? { bodyLimit: integer(options.bodyLimit, "--body-limit", 1024, 16 * 1024 * 1024) }
        : {}),
      ...(options.bodyTimeout !== undefined
        ? { bodyTimeout: integer(options.bodyTimeout, "--body-timeout", 100, 600_000) }
        : {}),
      ...(options.trustProxy !== undefined ? { trustProxy: await trustProxy(options.trustProxy) } : {}),
      ...(options.missingMachineInfo !== undefined ? { noMachineInfo: options.missingMachineInfo } : {}),
    };
    const [{ createLogger }, { startServer }] = await Promise.all([
      import("../../gate/log.js"),
      import("../../gate/server.js"),
    ]);
    const logger = createLogger({ level: options.logLevel });
    const running = await startServer({
      policies: options.policies,
      host: options.host,
      port,
      ...(upstream !== undefined ? { upstream } : {}),
      upstreamTimeoutMs: integer(options.upstreamTimeout, "--upstream-timeout", 1, 600_000),
      maxConnections: integer(options.maxConnections, "--max-connections", 1, 1_000_000),
      overrides,
      logger,
      env: io.env,
      cwd: io.cwd,
      watch: options.watch,
      feeds: feedFlags(options),
      secretsDirs: options.secretsDir ?? [],
      ...(options.tlsCert !== undefined && options.tlsKey !== undefined
        ? { tls: { cert: options.tlsCert, key: options.tlsKey } }
        : {}),
      ...(adminPort !== undefined
        ? { admin: { port: adminPort, ...(options.adminHost !== undefined ? { host: options.adminHost } : {}) } }
        : {}),
      compileLimits: {
        memoryMb: integer(options.compileMemory, "--compile-memory", 16, 16 * 1024),
        timeoutMs: integer(options.compileTimeout, "--compile-timeout", 100, 3_600_000),
      },
    });
    await new Promise<void>((stopped) => {
      // SIGHUP re-reads everything the gate reads from files: the policy directory and the TLS certificate.
      const reload = () => {
        void running.reload("SIGHUP");
        void running.reloadTls("SIGHUP");
      };
      const stop = (signal: string) => {
        logger.info({ event: "shutdown", signal }, "draining requests in flight, then exiting");
        process.off("SIGHUP", reload);
        void running.close().then(() => {
          logger.info({ event: "stopped" }, "stopped");
          stopped();
        });
      };
      process.on("SIGHUP", reload);
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    exit(EXIT.ok);
  });
}
