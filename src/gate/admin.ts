// /healthz, /readyz and /metrics. By default the enrollment listener answers
// them itself; with an admin listener (`--admin-port`) they are served there
// alone, where the kubelet's probes and Prometheus reach them and devices do
// not, and the enrollment listener passes those paths on like any other.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { GateMetrics } from "./metrics.js";
import type { PolicyStore } from "./policy-store.js";
import { parseRequestTarget } from "./request-target.js";
import { sendJson } from "./respond.js";

/** Where the admin listener listens unless told otherwise: this host only. */
export const DEFAULT_ADMIN_HOST = "127.0.0.1";

/** The paths the admin endpoints answer. */
export type AdminPath = "/healthz" | "/readyz" | "/metrics";

export function isAdminPath(path: string): path is AdminPath {
  return path === "/healthz" || path === "/readyz" || path === "/metrics";
}

export interface HealthState {
  readonly store: PolicyStore;
  readonly metrics: GateMetrics;
  /** True once the gate is draining to stop: /readyz answers 503 so that load balancers stop sending. */
  stopping(): boolean;
  /** A /metrics failure, for the gate's own error handling. */
  fail(res: ServerResponse, err: unknown): void;
}

/** The three endpoints, by path. */
export function adminEndpoints(state: HealthState): Record<AdminPath, (res: ServerResponse) => void> {
  const { store, metrics } = state;
  return {
    "/healthz": (res) => sendJson(res, 200, { status: "ok" }),
    "/readyz": (res) => {
      const active = store.active;
      const reloading = store.reloading;
      if (state.stopping()) {
        sendJson(res, 503, { status: "stopping", revision: active?.set.revision ?? null, reloading });
        return;
      }
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
        (err: unknown) => state.fail(res, err),
      );
    },
  };
}

/** Admin connections held at most: probes and scrapes need a few. */
const ADMIN_MAX_CONNECTIONS = 256;

/**
 * The admin listener: GET and HEAD of /healthz, /readyz and /metrics, and a 404 JSON error for anything else. Plain
 * HTTP, whatever the enrollment listener speaks (the kubelet and Prometheus scrape it on the pod's network).
 */
export function createAdminServer(
  endpoints: Record<AdminPath, (res: ServerResponse) => void>,
  timeouts: { readonly headersTimeoutMs: number },
): Server {
  const server = createServer(
    {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs),
    },
    (req, res) => {
      // Admin requests have no body worth reading; drop whatever comes.
      req.resume();
      const target = parseRequestTarget(req.url ?? "");
      if (target.ok && isAdminPath(target.path) && (req.method === "GET" || req.method === "HEAD"))
        return endpoints[target.path](res);
      sendJson(res, 404, {
        error: "not-found",
        message: "the admin listener serves GET /healthz, /readyz and /metrics only",
      });
    },
  );
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  server.keepAliveTimeout = 65_000;
  return server;
}
