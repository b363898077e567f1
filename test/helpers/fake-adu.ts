// A fake Azure Device Update data plane on loopback, serving the seed's v2
// routes and the GA (2022-10-01) routes with the response shapes of the
// examples in ../shared/adu/. Responses can be scripted one at a time.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { readShared } from "./shared.js";

export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export type Scripted = { status: number; headers?: Record<string, string>; body?: string } | "hang";

export interface FakeAdu {
  readonly url: string;
  readonly token: string;
  readonly requests: Seen[];
  /** Imported updates: key "provider/name/version". */
  readonly updates: Map<string, { compatibility: Array<Record<string, string>>; etag: string }>;
  /** One-shot answers, used before the normal routes, in order. */
  readonly script: Scripted[];
  /** Versions per page when listing; 0 for a single page. */
  pageSize: number;
  close(): Promise<void>;
}

type Example = { responses: Record<string, { body?: Record<string, unknown> }> };
const GA_EXAMPLE =
  (JSON.parse(readShared("adu", "ga-DeviceUpdate_GetUpdate.example.json")) as Example).responses["200"]?.body ?? {};
const V2_EXAMPLE =
  (JSON.parse(readShared("adu", "v2-Updates_GetUpdate.example.json")) as Example).responses["200"]?.body ?? {};

const GA = /^\/deviceUpdate\/([^/]+)\/updates\/providers\/([^/]+)\/names\/([^/]+)\/versions(?:\/([^/?]+))?$/;
const V2 = /^\/deviceupdate\/([^/]+)\/v2\/updates\/providers\/([^/]+)\/names\/([^/]+)\/versions(?:\/([^/?]+))?$/;

export async function startFakeAdu(instance = "blue", token = "test-adu-token"): Promise<FakeAdu> {
  const requests: Seen[] = [];
  const updates = new Map<string, { compatibility: Array<Record<string, string>>; etag: string }>();
  const script: Scripted[] = [];
  const fake = { pageSize: 0 };
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, { ...(text !== "" ? { "content-type": "application/json" } : {}), ...headers });
      res.end(text);
    };
    const next = script.shift();
    if (next === "hang") return; // never answers
    if (next !== undefined) {
      res.writeHead(next.status, next.headers ?? {});
      res.end(next.body ?? "");
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(401, { error: { code: "Unauthorized", message: "Invalid token" } });
    const url = new URL(req.url ?? "/", "http://fake");
    const ga = GA.exec(url.pathname);
    const v2 = V2.exec(url.pathname);
    const m = ga ?? v2;
    if (m === null || m[1] !== instance || (ga !== null && url.searchParams.get("api-version") !== "2022-10-01"))
      return send(404, { error: { code: "NotFound", message: "No such route" } });
    const [provider, name, version] = [m[2], m[3], m[4]].map((x) =>
      x === undefined ? undefined : decodeURIComponent(x),
    );
    if (version === undefined) {
      const all = [...updates.keys()]
        .filter((k) => k.startsWith(`${provider}/${name}/`))
        .map((k) => k.split("/")[2] as string);
      const start = Number(url.searchParams.get("skipToken") ?? 0);
      const size = fake.pageSize === 0 ? all.length : fake.pageSize;
      const page = all.slice(start, start + size);
      const more = start + size < all.length;
      const nextLink = more
        ? `${url.pathname}?${ga !== null ? "api-version=2022-10-01&" : ""}skipToken=${start + size}`
        : undefined;
      return send(200, { value: page, ...(nextLink !== undefined ? { nextLink } : {}) });
    }
    const update = updates.get(`${provider}/${name}/${version}`);
    if (update === undefined)
      return send(404, {
        error: { code: "UpdateNotFound", message: `Update ${provider}/${name}/${version} was not found` },
      });
    if (req.headers["if-none-match"] === update.etag) return send(304);
    const example = ga !== null ? GA_EXAMPLE : V2_EXAMPLE;
    return send(
      200,
      { ...example, updateId: { provider, name, version }, compatibility: update.compatibility, etag: update.etag },
      { etag: update.etag },
    );
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    requests,
    updates,
    script,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  });
}
