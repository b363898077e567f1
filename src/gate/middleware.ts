// enrollmentGate(): the Express middleware (Express 4 and 5, or plain Node
// http). A device below its minimum gets Apple's 403; every other device goes
// to next() with the decision at res.locals.enrollgate. It reads the raw body
// itself, so it works with or without body parsers mounted.
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { readMachineInfo, type VerificationOutcome } from "../apple/machine-info.js";
import { BandedSchema } from "../apple/schema/banded.js";
import { bundledAppleSchema } from "../bundled.js";
import type { CompiledPolicySet } from "../policy/compile.js";
import { decide } from "../policy/decide.js";
import type { Decision, DeviceFacts } from "../policy/model.js";
import { negotiateFormat, renderBody, type ResponseFormat } from "../policy/render.js";
import { createLogger, silentLogger, type Logger } from "./log.js";
import { GateMetrics } from "./metrics.js";
import { PolicyStore, type ActiveState, type ReloadResult, type SettingsOverrides } from "./policy-store.js";
import { sendJson } from "./respond.js";
import { discardBody, locateMachineInfo, type GateRequest, type MachineInfoSource } from "./transport.js";
import { CertificateCache, VerificationCache } from "./verification-cache.js";

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
}

type Next = (error?: unknown) => void;

/** How much of an oversized body the gate reads (and drops) after its 413, at least. */
const DISCARD_MIN = 1024 * 1024;
type GateResponse = ServerResponse & { locals?: Record<string, unknown> };

export interface EnrollmentGate {
  (req: GateRequest, res: GateResponse, next: Next): void;
  /** Settles once the first policy set is active (or its compile failed). */
  readonly ready: Promise<ReloadResult>;
  reload(reason?: string): Promise<ReloadResult>;
  readonly store: PolicyStore;
  readonly metrics: GateMetrics;
  readonly logger: Logger;
}

function formatFor(state: ActiveState, req: GateRequest): ResponseFormat {
  const f = state.settings.format;
  return f === "negotiate" ? negotiateFormat(req.headers.accept) : f;
}

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
    });
  const schema = new BandedSchema(bundledAppleSchema("machineinfo"), "receive");
  const cache = new VerificationCache();
  const certificates = new CertificateCache();
  const ready = options.store !== undefined ? Promise.resolve<ReloadResult>({ ok: true, revision: store.active?.set.revision ?? "", changed: false }) : store.reload("start");

  async function handle(req: GateRequest, res: GateResponse, next: Next): Promise<void> {
    const started = performance.now();
    const decisionId = randomUUID();
    const state = store.active;
    const path = req.originalUrl ?? req.url ?? "";
    if (state === null) {
      sendJson(res, 503, { error: "not-ready", message: "no policy set is active yet" });
      return;
    }
    const reject = (status: number, code: string, message: string, source: MachineInfoSource | null, failure?: string) => {
      metrics.rejections.inc({ status: String(status), code });
      logger.warn({ event: "rejected", decisionId, revision: state.set.revision, status, code, ...(failure !== undefined ? { failure } : {}), problem: message, source, method: req.method, path }, "request rejected");
      sendJson(res, status, { error: code, message }, { "X-Enrollgate-Decision-Id": decisionId, "X-Enrollgate-Revision": state.set.revision });
    };

    const located = await locateMachineInfo(req, state.settings.bodyLimit);
    if (located.kind === "error") {
      reject(located.error.status, located.error.code, located.error.message, null);
      if (located.drain) discardBody(req, Math.max(DISCARD_MIN, 4 * state.settings.bodyLimit));
      return;
    }
    let facts: DeviceFacts | null = null;
    let verification: GateOutcome["verification"] = { status: "absent" };
    let decision: Decision;
    if (located.kind === "absent") {
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
        read = readMachineInfo(located.der, { mode, trust: state.trust, schema, caches: certificates });
        cache.set(key, read);
      }
      if (!read.ok) {
        reject(read.status, read.code, read.message, located.source, read.failure);
        return;
      }
      facts = read.facts;
      verification = read.verification;
      if (verification.status === "unverified") {
        logger.warn({ event: "unverified", decisionId, failure: verification.code, problem: verification.problem, serial: facts.serial, source: located.source }, "MachineInfo not verified; continuing (verify: audit)");
      }
      decision = decide(state.set, facts, clock());
    }

    const seconds = (performance.now() - started) / 1000;
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
        verification: verification.status,
        ...(verification.status === "unverified" ? { verificationFailure: verification.code, verificationProblem: verification.problem } : {}),
        source: located.kind === "found" ? located.source : null,
        method: req.method,
        path,
        ms: Math.round(seconds * 1e6) / 1e3,
      },
      decision.summary,
    );

    if (decision.decision === "block") {
      if (decision.body === null) {
        sendJson(res, 403, { error: "no-machine-info", message: "MachineInfo is required" }, { "X-Enrollgate-Decision-Id": decisionId, "X-Enrollgate-Revision": state.set.revision });
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
      source: located.kind === "found" ? located.source : null,
      verification,
      facts,
      rawBody: located.rawBody,
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
      if (!res.headersSent) sendJson(res, 500, { error: "internal", message: "the gate failed on this request; see its log" });
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
