// An upstream that shows exactly what bytes arrive: a raw TCP server that
// keeps every byte of every connection and parses requests the way a plain
// HTTP/1.1 server does (Content-Length, chunked, else no body), answering each
// in turn. A body sent without framing shows up here as one more request.
import { createServer, type AddressInfo, type Socket } from "node:net";

export interface RawRequest {
  readonly method: string;
  readonly target: string;
  /** Header lines as sent: [name, value], names in their original case. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** Every value of a header, by its name in any case. */
  header(name: string): string[];
}

export interface RawUpstream {
  readonly url: string;
  readonly requests: RawRequest[];
  /** Request heads that could not be parsed (the connection was closed after each). */
  readonly malformed: string[];
  /** Everything every connection sent, in arrival order, as latin1. */
  bytes(): string;
  close(): Promise<void>;
}

type Parsed = { request: RawRequest; used: number } | "more" | { malformed: string };

function parseOne(buffer: Buffer): Parsed {
  const end = buffer.indexOf("\r\n\r\n");
  if (end === -1) return "more";
  const head = buffer.subarray(0, end).toString("latin1");
  const [line = "", ...lines] = head.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (m === null) return { malformed: head.slice(0, 200) };
  const headers = lines.map((l) => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon), l.slice(colon + 1).trim()] as const;
  });
  const values = (name: string) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  let at = end + 4;
  let body = Buffer.alloc(0);
  if (values("transfer-encoding").some((v) => /chunked/i.test(v))) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at);
      if (lineEnd === -1) return "more";
      const size = parseInt(buffer.subarray(at, lineEnd).toString("latin1"), 16);
      if (!Number.isFinite(size)) return { malformed: `bad chunk size in ${line}` };
      if (size === 0) {
        const trailerEnd = buffer.indexOf("\r\n\r\n", lineEnd);
        if (trailerEnd === -1) return "more";
        at = trailerEnd + 4;
        break;
      }
      if (buffer.length < lineEnd + 2 + size + 2) return "more";
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (values("content-length").length > 0) {
    const length = Number(values("content-length")[0]);
    if (buffer.length < at + length) return "more";
    body = Buffer.from(buffer.subarray(at, at + length));
    at += length;
  }
  return { request: { method: m[1] as string, target: m[2] as string, headers, body, header: values }, used: at };
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const requests: RawRequest[] = [];
  const malformed: string[] = [];
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseOne(buffer);
        if (parsed === "more") return;
        if ("malformed" in parsed) {
          malformed.push(parsed.malformed);
          socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          return;
        }
        buffer = buffer.subarray(parsed.used);
        requests.push(parsed.request);
        const text = `upstream request ${requests.length}`;
        const body = parsed.request.method === "HEAD" ? "" : text;
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\nX-Upstream-Request: ${requests.length}\r\n\r\n${body}`,
        );
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    malformed,
    bytes: () => Buffer.concat(received).toString("latin1"),
    close: () =>
      new Promise((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
