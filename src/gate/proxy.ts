// serve --upstream: allowed requests go to the MDM server with their method,
// path, headers and exact body bytes; its answer streams back. An unreachable
// upstream is a 502, a silent one a 504, both as JSON.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Logger } from "./log.js";
import type { GateMetrics } from "./metrics.js";
import type { GateOutcome } from "./middleware.js";
import { sendJson } from "./respond.js";
import type { GateRequest } from "./transport.js";

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never forwarded.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ""),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  }
  return out;
}

export interface ProxyOptions {
  readonly upstream: URL;
  /** How long the upstream may take to start answering. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly metrics: GateMetrics;
}

type ProxyResponse = ServerResponse & { locals?: Record<string, unknown> };

export function upstreamProxy(options: ProxyOptions): (req: GateRequest, res: ProxyResponse) => void {
  const { upstream, timeoutMs, logger, metrics } = options;
  const secure = upstream.protocol === "https:";
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const base = upstream.pathname.replace(/\/$/, "");

  return (req, res) => {
    const outcome = res.locals?.enrollgate as GateOutcome | undefined;
    const headers = endToEnd(req.headers);
    const client = req.socket.remoteAddress ?? "";
    headers["x-forwarded-for"] = req.headers["x-forwarded-for"] !== undefined ? `${String(req.headers["x-forwarded-for"])}, ${client}` : client;
    headers["x-forwarded-proto"] ??= "encrypted" in req.socket ? "https" : "http";
    if (req.headers.host !== undefined) headers["x-forwarded-host"] ??= req.headers.host;
    if (outcome !== undefined) {
      headers["x-enrollgate-decision"] = outcome.decision.decision;
      headers["x-enrollgate-reason"] = outcome.decision.reason;
      headers["x-enrollgate-revision"] = outcome.revision;
      headers["x-enrollgate-decision-id"] = outcome.decisionId;
    }
    const body = outcome?.rawBody ?? null;
    if (body !== null) {
      // The gate read the body: send those exact bytes.
      delete headers["transfer-encoding"];
      headers["content-length"] = String(body.length);
    }
    let answered = false;
    const fail = (status: 502 | 504, code: string, message: string) => {
      if (answered) return;
      answered = true;
      metrics.upstreamErrors.inc({ code });
      logger.error({ event: "upstream-error", code, message, upstream: upstream.origin, path: req.originalUrl ?? req.url }, "upstream did not answer");
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, status, { error: code, message });
    };
    const outgoing = send(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `${base}${req.originalUrl ?? req.url ?? "/"}`,
        headers,
        agent,
      },
      (incoming) => {
        answered = true;
        outgoing.setTimeout(0);
        res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, endToEnd(incoming.headers));
        incoming.pipe(res);
        incoming.on("error", () => res.destroy());
      },
    );
    outgoing.setTimeout(timeoutMs, () => {
      fail(504, "upstream-timeout", `the upstream did not answer within ${timeoutMs} ms`);
      outgoing.destroy();
    });
    outgoing.on("error", (e: NodeJS.ErrnoException) => fail(502, "upstream-unreachable", `the upstream cannot be reached: ${e.code ?? e.message}`));
    res.on("close", () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    if (body !== null) outgoing.end(body);
    else if (req.readableEnded) outgoing.end();
    else req.pipe(outgoing);
  };
}
