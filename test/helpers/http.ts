// Real HTTP on loopback: a recording upstream server, and log capture.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import type { Logger } from "enrollgate";
import { createLogger } from "enrollgate/gate";

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

export interface Upstream {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** An upstream MDM stand-in that records every request and answers 200 with a marker body. */
export async function startUpstream(
  answer?: (r: Recorded) => { status: number; headers?: Record<string, string>; body: string } | "hang",
): Promise<Upstream> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(r);
      const a = answer?.(r) ?? {
        status: 200,
        headers: { "content-type": "application/x-apple-aspen-config", "x-upstream": "yes" },
        body: "<profile from upstream>",
      };
      if (a === "hang") return;
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  text(): string;
}

/** A real pino logger writing JSON lines into memory. */
export function captureLog(): CapturedLog {
  const raw: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ destination: sink, level: "debug" }), lines, text: () => raw.join("\n") };
}

/** Polls until `check` holds, for things that happen on their own time (file watching). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface RawResponse {
  /** The first response's status, or null when the server sent nothing. */
  readonly status: number | null;
  /** Everything the server sent, as latin1. */
  readonly text: string;
}

/**
 * Sends bytes exactly as given on a fresh TCP connection and collects what
 * comes back until the server closes (or `settleMs` after its first byte):
 * for requests no HTTP client would send.
 */
export function rawRequest(url: string, bytes: Uint8Array, settleMs = 1000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) });
    let settle: NodeJS.Timeout | null = null;
    const give = setTimeout(() => finish(), 10_000);
    const finish = () => {
      clearTimeout(give);
      if (settle !== null) clearTimeout(settle);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m === null ? null : Number(m[1]), text });
    };
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      settle ??= setTimeout(finish, settleMs);
    });
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // The server may close while we are still writing a body it refused.
      if (e.code === "ECONNRESET" || e.code === "EPIPE") finish();
      else reject(e);
    });
    socket.write(bytes);
  });
}
