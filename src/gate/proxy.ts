// serve --upstream: allowed requests go to the MDM server with their method,
// normalised path, headers and exact body bytes; its answer streams back. An
// unreachable upstream is a 502, a silent one a 504, both as JSON.
//
// Every body is framed on the way up, whatever the method: by its exact
// length when the gate read it or the client declared one, else chunked. (Node
// sends a GET, HEAD, DELETE or OPTIONS body unframed unless told otherwise,
// and the upstream would read it as a second request no one decided on.)
import { Agent as HttpAgent, request as httpRequest, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { endToEnd } from "./hop-by-hop.js";
import type { Logger } from "./log.js";
import type { GateMetrics } from "./metrics.js";
import type { GateOutcome } from "./middleware.js";
import { statusOf } from "./rejections.js";
import { sendJson } from "./respond.js";
import { announcesBody, type GateRequest } from "./transport.js";
import { upstreamHeaders } from "./upstream-headers.js";

/** Frames the forwarded body: the bytes the gate read, the length the client declared, or chunked. */
function frame(req: GateRequest, headers: OutgoingHttpHeaders, rawBody: Buffer | null): void {
  delete headers["content-length"];
  delete headers["transfer-encoding"];
  if (rawBody !== null) headers["content-length"] = String(rawBody.length);
  else if (req.headers["transfer-encoding"] !== undefined) headers["transfer-encoding"] = "chunked";
  else if (announcesBody(req)) headers["content-length"] = String(Number(req.headers["content-length"]));
}

export interface ProxyOptions {
  readonly upstream: URL;
  /** How long the upstream may take to start answering. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly metrics: GateMetrics;
}

type ProxyResponse = ServerResponse & { locals?: Record<string, unknown> };

export function upstreamProxy(options: ProxyOptions): (req: GateRequest, res: ProxyResponse, path: string) => void {
  const { upstream, timeoutMs, logger, metrics } = options;
  const secure = upstream.protocol === "https:";
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const base = upstream.pathname.replace(/\/+$/, "");

  /** `path` is the normalised request target (the server's routing read it the same way). */
  return (req, res, path) => {
    // Only requests the gate decided on go upstream.
    const outcome = res.locals?.enrollgate as GateOutcome;
    const headers = upstreamHeaders(req, outcome, { secure: "encrypted" in req.socket });
    const body = outcome.rawBody;
    frame(req, headers, body);
    let answered = false;
    const fail = (code: "upstream-unreachable" | "upstream-timeout", message: string) => {
      if (answered) return;
      answered = true;
      metrics.upstreamErrors.inc({ code });
      logger.error(
        { event: "upstream-error", code, message, upstream: upstream.origin, path, decisionId: outcome.decisionId },
        "upstream did not answer",
      );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, statusOf(code), { error: code, message });
    };
    const outgoing = send(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `${base}${path}`,
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
      fail("upstream-timeout", `the upstream did not answer within ${timeoutMs} ms`);
      outgoing.destroy();
    });
    outgoing.on("error", (e: NodeJS.ErrnoException) =>
      fail("upstream-unreachable", `the upstream cannot be reached: ${e.code ?? e.message}`),
    );
    res.on("close", () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    if (body !== null) outgoing.end(body);
    else if (req.readableEnded) outgoing.end();
    else req.pipe(outgoing);
  };
}
