// Hand-built HTTP over raw sockets, and the answers read back one by one:
// how many responses came, with what status, headers and body.
import { connect } from "node:net";
import { rawRequest } from "./http.js";

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Splits what a server sent into responses; `methods` says which requests were HEAD (no body). */
export function parseResponses(text: string, methods: ReadonlyArray<string> = []): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end === -1) break;
    const [line = "", ...lines] = text.slice(at, end).split("\r\n");
    const m = /^HTTP\/1\.1 (\d{3})/.exec(line);
    if (m === null) break;
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const colon = l.indexOf(":");
      headers[l.slice(0, colon).toLowerCase()] = l.slice(colon + 1).trim();
    }
    at = end + 4;
    let body = "";
    const status = Number(m[1]);
    if (methods[answers.length] === "HEAD" || status === 204 || status === 304) {
      // no body
    } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      for (;;) {
        const lineEnd = text.indexOf("\r\n", at);
        const size = parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2;
        if (!(size > 0)) {
          at = text.indexOf("\r\n", at) + 2;
          break;
        }
        body += text.slice(at, at + size);
        at += size + 2;
      }
    } else {
      const length = Number(headers["content-length"] ?? 0);
      body = text.slice(at, at + length);
      at += length;
    }
    answers.push({ status, headers, body });
  }
  return answers;
}

/** Sends the bytes on a fresh connection and reads every response until the server closes (or goes quiet). */
export async function exchange(
  url: string,
  bytes: string | Uint8Array,
  methods: ReadonlyArray<string> = [],
): Promise<RawAnswer[]> {
  const res = await rawRequest(url, typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes, 500);
  return parseResponses(res.text, methods);
}

/** Sends `head` at once, then `body` one chunk every `intervalMs`, until the server answers or closes. */
export function trickle(
  url: string,
  head: string,
  body: ReadonlyArray<Uint8Array | string>,
  intervalMs: number,
): Promise<{ text: string; sent: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let text = "";
    let sent = 0;
    let timer: NodeJS.Timeout | null = null;
    const done = () => {
      if (timer !== null) clearTimeout(timer);
      socket.destroy();
      resolve({ text, sent });
    };
    const next = () => {
      timer = null;
      const chunk = body[sent];
      if (chunk === undefined) return;
      socket.write(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
      sent++;
      timer = setTimeout(next, intervalMs);
    };
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", done);
    socket.write(head, "latin1", () => (timer = setTimeout(next, intervalMs)));
  });
}
