// enrollmentGate(): the Express middleware (Express 4 and 5, or plain Node
// http). A device below its minimum gets Apple's 403; every other device goes
// to next() with the decision at res.locals.enrollgate. It reads the raw body
// itself, so it works with or without body parsers mounted.
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { VerificationOutcome } from "../apple/machine-info.js";
import { BandedSchema } from "../apple/schema/banded.js";
import { bundledAppleSchema } from "../apple/bundled.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import { decide } from "../policy/decide.js";
import { DEFAULT_SETTINGS, type Decision, type DeviceFacts } from "../policy/model.js";
import { describeFailure, PolicySetError } from "../policy/policy-set-error.js";
import { negotiateFormat, renderBody, type ResponseFormat } from "../policy/render.js";
import { createLogger, silentLogger, type Logger } from "./log.js";
import { ingestMachineInfo } from "./ingest.js";
import { GateMetrics } from "./metrics.js";
import type { CompileLimits } from "./compile-in-worker.js";
import {
  PolicyStore,
  type ActiveState,
  type ReloadResult,
  type ReloadSuccess,
  type SettingsOverrides,
} from "./policy-store.js";
import { statusOf, type RejectionCode } from "./rejections.js";
import { sendJson } from "./respond.js";
import { locateMachineInfo, settleUnreadBody, type GateRequest, type MachineInfoSource } from "./transport.js";
import { clientAddress, type ClientAddress } from "./trust-proxy.js";
import { CertificateCache, VerificationCache } from "./verification-cache.js";
import { exploitedCves } from "./exposure-log.js";

/**
 * Options of enrollmentGate(). The settings it extends (format, verify,
 * trustAnchors, bodyLimit, bodyTimeout, noMachineInfo, trustProxy) win over
 * the policy directory's enrollgate.yaml.
 */
export interface EnrollmentGateOptions extends SettingsOverrides {
  /** A policy directory (compiled, and recompiled on reload()) or a compiled set. */
  readonly policies: string | CompiledPolicySet;
  /** pino logger; false for none. Default: JSON lines on stdout. */
  readonly logger?: Logger | false;
  readonly metrics?: GateMetrics;
  /** The clock decisions use; default Date.now. */
  readonly clock?: () => number;
  /** Where beta tokens come from when compiling a directory; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Share a store (the standalone server does); otherwise one is made from `policies`. */
  readonly store?: PolicyStore;
  /**
   * Directories where beta token files and trust anchors the policies name
   * may be, besides the policy directory (relative to `cwd`). Only the
   * application sets these, never enrollgate.yaml.
   */
  readonly secretsDirs?: ReadonlyArray<string>;
  /** Limits of the worker thread that compiles the policy directory (default 256 MB, 30 s). */
  readonly compileLimits?: Partial<CompileLimits>;
}

/** What the gate leaves at res.locals.enrollgate for the handlers after it. */
export interface GateOutcome {
  readonly decisionId: string;
  readonly revision: string;
  readonly decision: Decision;
  readonly source: MachineInfoSource | null;
  readonly verification: VerificationOutcome | { readonly status: "absent" };
  readonly facts: DeviceFacts | null;
  /** The request body the gate read (MachineInfo), byte for byte; also at req.body. */
  readonly rawBody: Buffer | null;
  /** Who sent the request: the peer, and the client behind it when the peer is a trusted proxy (trustProxy). */
  readonly client: ClientAddress;
}

type Next = (error?: unknown) => void;

type GateResponse = ServerResponse & { locals?: Record<string, unknown> };

/** The middleware enrollmentGate() returns, with its policy set's lifecycle. */
export interface EnrollmentGate {
  (req: GateRequest, res: GateResponse, next: Next): void;
  /**
   * Resolves once the first policy set is active; rejects with a
   * PolicySetError (code `policy-set-invalid`, with `findings`) when it does not
   * compile. Until then, and after such a failure, the gate answers 503.
   */
  readonly ready: Promise<ReloadSuccess>;
  /** Recompiles the policy directory; never throws. A set that fails keeps the last good one answering. */
  reload(reason?: string): Promise<ReloadResult>;
  readonly store: PolicyStore;
  readonly metrics: GateMetrics;
  readonly logger: Logger;
}

function formatFor(state: ActiveState, req: GateRequest): ResponseFormat {
  const f = state.settings.format;
  return f === "negotiate" ? negotiateFormat(req.headers.accept) : f;
}

/**
 * The gate as Express middleware (Express 4 and 5, or plain Node http). It
 * finds the request's MachineInfo (body, `x-apple-aspen-deviceinfo` header or
 * `deviceinfo` query parameter), verifies it, and decides: a device below its
 * minimum gets Apple's 403 `com.apple.softwareupdate.required`; a request it
 * cannot read one way only gets a JSON error; every other request goes to
 * `next()` with the decision at `res.locals.enrollgate` (a GateOutcome). It
 * reads a MachineInfo body itself and leaves the bytes at `req.body`, so it
 * works with or without body parsers.
 *
 * @example
 * import express from "express";
 * import { enrollmentGate } from "enrollgate";
 *
 * const app = express();
 * const gate = enrollmentGate({ policies: "policies", format: "negotiate", secretsDirs: ["/run/secrets"] });
 * app.use("/mdm/enroll", gate, (req, res) => {
 *   const { decision, facts } = res.locals.enrollgate; // allowed: build the profile
 *   res.type("application/x-apple-aspen-config").send(buildProfileFor(facts));
 * });
 * await gate.ready; // rejects with a PolicySetError when the policies do not compile
 * app.listen(8443);
 */
export function enrollmentGate(options: EnrollmentGateOptions): EnrollmentGate {
  const logger = options.logger === false ? silentLogger() : (options.logger ?? createLogger());
  const metrics = options.metrics ?? new GateMetrics();
  const clock = options.clock ?? Date.now;
  const store =
    options.store ??
    new PolicyStore(typeof options.policies === "string" ? { dir: options.policies } : { set: options.policies }, {
      overrides: options,
      env: options.env ?? process.env,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      clock,
      logger,
      metrics,
      ...(options.secretsDirs !== undefined ? { secretsDirs: options.secretsDirs } : {}),
      ...(options.compileLimits !== undefined ? { compileLimits: options.compileLimits } : {}),
    });
  const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");
  const cache = new VerificationCache();
  const certificates = new CertificateCache();
  const ready: Promise<ReloadSuccess> =
    options.store !== undefined
      ? Promise.resolve({ ok: true, revision: store.active?.set.revision ?? "", changed: false, weakened: [] })
      : store.reload("start").then((result) => {
          if (result.ok) return result;
          const where = typeof options.policies === "string" ? options.policies : "the compiled set";
          throw new PolicySetError(describeFailure(where, result.error, result.findings), result.findings);
        });
  // Awaiting ready is how an app learns of a broken set; one that never awaits
  // it keeps running (answering 503) rather than dying of an unhandled rejection.
  ready.catch(() => undefined);

  async function handle(req: GateRequest, res: GateResponse, next: Next): Promise<void> {
    const started = performance.now();
    const decisionId = randomUUID();
    const state = store.active;
    const path = req.originalUrl ?? req.url ?? "";
    if (state === null) {
      sendJson(res, statusOf("not-ready"), { error: "not-ready", message: "no policy set is active yet" });
      return;
    }
    const client = clientAddress(req, state.proxyTrust);
    const settle = (status: number) => settleUnreadBody(req, res, status, state.settings.bodyLimit);
    const reject = (code: RejectionCode, message: string, source: MachineInfoSource | null, failure?: string) => {
      const status = statusOf(code);
      metrics.rejections.inc({ status: String(status), code, ...(failure !== undefined ? { failure } : {}) });
      logger.warn(
        {
          event: "rejected",
          decisionId,
          revision: state.set.revision,
          status,
          code,
          ...(failure !== undefined ? { failure } : {}),
          problem: message,
          source,
          method: req.method,
          path,
          client: client.address,
          peer: client.peer,
        },
        "request rejected",
      );
      settle(status);
      sendJson(
        res,
        status,
        { error: code, message },
        { "X-Enrollgate-Decision-Id": decisionId, "X-Enrollgate-Revision": state.set.revision },
      );
    };

    // A set compiled before bodyTimeout existed has none: its default, never an instant timeout.
    const located = await locateMachineInfo(req, {
      limit: state.settings.bodyLimit,
      timeoutMs: state.settings.bodyTimeout ?? DEFAULT_SETTINGS.bodyTimeout,
    });
    if (!located.ok) {
      reject(located.error.code, located.error.message, null);
      return;
    }
    let facts: DeviceFacts | null = null;
    let verification: GateOutcome["verification"] = { status: "absent" };
    let decision: Decision;
    if (located.source === null) {
      decision = {
        decision: state.settings.noMachineInfo === "reject" ? "block" : "allow",
        reason: "no-machine-info",
        rule: null,
        body: null,
        platform: null,
        summary: "the request carries no MachineInfo",
        considered: [],
      };
    } else {
      const mode = state.settings.verify;
      const key = cache.key(located.der, mode, state.trustGeneration);
      let read = cache.get(key);
      if (read === undefined) {
        read = ingestMachineInfo(located.der, { mode, trust: state.trust, schema, caches: certificates });
        cache.set(key, read, located.der.length);
      }
      if (!read.ok) {
        reject(read.code, read.message, located.source, read.failure);
        return;
      }
      facts = read.facts;
      verification = read.verification;
      if (verification.status === "unverified") {
        logger.warn(
          {
            event: "unverified",
            decisionId,
            failure: verification.code,
            problem: verification.problem,
            serial: facts.serial,
            source: located.source,
          },
          "MachineInfo not verified; continuing (verify: audit)",
        );
      }
      decision = decide(state.set, facts, clock());
    }

    const seconds = (performance.now() - started) / 1000;
    // With SOFA: the actively exploited CVEs this device runs exposed to (a lookup in a table built at compile time).
    const vulnerabilities = state.set.vulnerabilities ?? null;
    const exploited = vulnerabilities === null ? undefined : exploitedCves(vulnerabilities, facts);
    if (exploited !== undefined && exploited !== null && exploited.length > 0)
      metrics.exposed.inc({ decision: decision.decision, reason: decision.reason });
    metrics.decisions.inc({ decision: decision.decision, reason: decision.reason, rule: decision.rule ?? "" });
    metrics.decisionSeconds.observe(seconds);
    logger.info(
      {
        event: "decision",
        decisionId,
        revision: state.set.revision,
        decision: decision.decision,
        reason: decision.reason,
        rule: decision.rule,
        serial: facts?.serial ?? null,
        udid: facts?.udid ?? null,
        product: facts?.product ?? null,
        osVersion: facts?.osVersion ?? null,
        build: facts?.supplementalBuild ?? facts?.build ?? null,
        deviceId: facts?.deviceId ?? null,
        ...(exploited !== undefined ? { exploited } : {}),
        // With the fields above, what `enrollgate diff --inventory` needs to replay the decision.
        supplementalExtra: facts?.supplementalExtra ?? null,
        canUpdate: facts?.canRequestUpdate ?? null,
        verification: verification.status,
        ...(verification.status === "unverified"
          ? { verificationFailure: verification.code, verificationProblem: verification.problem }
          : {}),
        source: located.source,
        method: req.method,
        path,
        client: client.address,
        peer: client.peer,
        ms: Math.round(seconds * 1e6) / 1e3,
      },
      decision.summary,
    );

    if (decision.decision === "block") {
      settle(403);
      if (decision.body === null) {
        sendJson(
          res,
          statusOf("no-machine-info"),
          { error: "no-machine-info", message: "MachineInfo is required" },
          { "X-Enrollgate-Decision-Id": decisionId, "X-Enrollgate-Revision": state.set.revision },
        );
        return;
      }
      const rendered = renderBody(decision.body, formatFor(state, req));
      res.statusCode = rendered.status;
      res.setHeader("Content-Type", rendered.contentType);
      res.setHeader("Content-Length", rendered.body.length);
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("X-Enrollgate-Decision-Id", decisionId);
      res.setHeader("X-Enrollgate-Revision", state.set.revision);
      res.end(rendered.body);
      return;
    }
    const outcome: GateOutcome = {
      decisionId,
      revision: state.set.revision,
      decision,
      source: located.source,
      verification,
      facts,
      rawBody: located.rawBody,
      client,
    };
    res.locals ??= {};
    res.locals.enrollgate = outcome;
    if (located.rawBody !== null) {
      // Handlers after the gate find the body where body parsers put it. The
      // gate was its only reader (a parser that ran first either left a Buffer,
      // which this is, or read nothing and left {}).
      req.body = located.rawBody;
      req._body = true;
    }
    next();
  }

  const gate = ((req: GateRequest, res: GateResponse, next: Next) => {
    handle(req, res, next).catch((e: unknown) => {
      logger.error({ event: "internal-error", err: e, path: req.originalUrl ?? req.url }, "gate failed on a request");
      if (!res.headersSent)
        sendJson(res, statusOf("internal"), {
          error: "internal",
          message: "the gate failed on this request; see its log",
        });
      else res.destroy();
    });
  }) as EnrollmentGate;
  Object.defineProperties(gate, {
    ready: { value: ready },
    reload: { value: (reason?: string) => store.reload(reason) },
    store: { value: store },
    metrics: { value: metrics },
    logger: { value: logger },
  });
  return gate;
}
