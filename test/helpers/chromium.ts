// A real headless Chromium, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: file descriptors 3 and 4, NUL-separated JSON), so
// a test can open a page, see every request it makes, read its DOM and take
// a screenshot, with no network port and no extra dependency.
//
// Where Chromium comes from: $CHROMIUM, else the usual paths (Debian's
// `chromium` package installs /usr/bin/chromium). When there is none and the
// test runs as root on a Debian or Ubuntu machine, it installs the package
// with apt-get, as .ci/run does before `npm test`; anywhere else the test
// fails, saying how to install it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import type { Readable, Writable } from "node:stream";

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM;
  if (fromEnv !== undefined && fromEnv !== "" && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((c) => existsSync(c)) ?? null;
}

/** Chromium's path, installing Debian's package first when it is missing and this process may. */
export function ensureChromium(): string {
  const found = findChromium();
  if (found !== null) return found;
  const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
  if (canInstall) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    spawnSync("apt-get", ["update"], { stdio: "ignore", env });
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "ignore", env });
    const installed = findChromium();
    if (installed !== null) return installed;
  }
  throw new Error(
    "this test opens the coverage page in headless Chromium, which is not installed: apt-get install -y chromium (Debian, Ubuntu), or set CHROMIUM to a Chromium or Chrome binary",
  );
}

interface Message {
  readonly id?: number;
  readonly method?: string;
  readonly sessionId?: string;
  readonly params?: Record<string, unknown>;
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly message: string };
}

export interface OpenedPage {
  /** Every request the page made, by URL, the document's own included (Network.requestWillBeSent). */
  readonly requests: string[];
  /** Evaluates an expression in the page and returns its value (JSON-serialisable). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the whole page, or of the part `clip` names (CSS pixels). */
  screenshot(clip?: { x: number; y: number; width: number; height: number }): Promise<Buffer>;
  close(): Promise<void>;
}

/** Opens a URL (file:// or loopback http://) in a fresh headless Chromium and waits for its load event. */
export async function openPage(url: string, options: { width?: number; height?: number } = {}): Promise<OpenedPage> {
  const binary = ensureChromium();
  const profile = await mkdtemp(join(tmpdir(), "enrollgate-chromium-"));
  const child: ChildProcess = spawn(
    binary,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--no-default-browser-check",
      `--user-data-dir=${profile}`,
      `--window-size=${options.width ?? 1400},${options.height ?? 1000}`,
      "--remote-debugging-pipe",
      "about:blank",
    ],
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;

  let nextId = 1;
  const pending = new Map<number, { ok: (r: Record<string, unknown>) => void; fail: (e: Error) => void }>();
  const listeners: Array<(m: Message) => void> = [];
  let buffer = Buffer.alloc(0);
  fromBrowser.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    let end;
    while ((end = buffer.indexOf(0)) !== -1) {
      const message = JSON.parse(buffer.subarray(0, end).toString("utf8")) as Message;
      buffer = buffer.subarray(end + 1);
      if (message.id !== undefined) {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) p?.fail(new Error(message.error.message));
        else p?.ok(message.result ?? {});
      } else {
        for (const l of listeners) l(message);
      }
    }
  });
  const exited = new Promise<void>((ok) => child.on("exit", () => ok()));
  void exited.then(() => {
    for (const p of pending.values()) p.fail(new Error(`Chromium exited: ${stderr}`));
    pending.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((ok, fail) => {
      const id = nextId++;
      pending.set(id, { ok, fail });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) })}\0`);
    });

  const { targetId } = (await send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
  const { sessionId } = (await send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
  const requests: string[] = [];
  listeners.push((m) => {
    if (m.sessionId === sessionId && m.method === "Network.requestWillBeSent")
      requests.push(String((m.params?.request as { url?: unknown } | undefined)?.url));
  });
  await send("Network.enable", {}, sessionId);
  await send("Page.enable", {}, sessionId);
  const loaded = new Promise<void>((ok) =>
    listeners.push((m) => {
      if (m.sessionId === sessionId && m.method === "Page.loadEventFired") ok();
    }),
  );
  await send("Page.navigate", { url }, sessionId);
  await loaded;

  return {
    requests,
    async evaluate<T>(expression: string): Promise<T> {
      const r = (await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)) as {
        result: { value: T };
        exceptionDetails?: { text: string };
      };
      if (r.exceptionDetails !== undefined) throw new Error(`in the page: ${r.exceptionDetails.text}`);
      return r.result.value;
    },
    async screenshot(clip?: { x: number; y: number; width: number; height: number }): Promise<Buffer> {
      const params = {
        format: "png",
        captureBeyondViewport: true,
        ...(clip !== undefined ? { clip: { ...clip, scale: 1 } } : {}),
      };
      const r = (await send("Page.captureScreenshot", params, sessionId)) as { data: string };
      return Buffer.from(r.data, "base64");
    },
    async close(): Promise<void> {
      try {
        await Promise.race([send("Browser.close"), exited]);
      } catch {
        // Closing races its own exit.
      }
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** A PNG's width and height, from its IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new Error("not a PNG");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** The RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium's screenshots are). */
export function pngPixels(png: Buffer): { width: number; height: number; channels: number; data: Buffer } {
  const { width, height } = pngSize(png);
  const [depth, colour, , , interlace] = png.subarray(24, 29);
  const channels = colour === 6 ? 4 : colour === 2 ? 3 : 0;
  if (depth !== 8 || channels === 0 || interlace !== 0) throw new Error("not an 8-bit RGB(A) non-interlaced PNG");
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    if (png.toString("latin1", at + 4, at + 8) === "IDAT") idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (data[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (data[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (data[(y - 1) * stride + x - channels] as number) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predicted = filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? paeth : 0;
      data[y * stride + x] = (v + predicted) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** How many pixels of a screenshot have exactly this colour ("#rrggbb"). */
export function countColour(png: Buffer, hex: string): number {
  const { channels, data } = pngPixels(png);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < data.length; i += channels) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) n++;
  return n;
}
