// HTTPS for `enrollgate serve`: the serving certificate and key, read from
// files and read again when they change. A Kubernetes Secret (or
// cert-manager) renews them by swapping the `..data` symlink in the mounted
// directory; an operator writes the files or sends SIGHUP. Each time, the new
// pair is read and checked (PEM, a key that matches the certificate) before
// the server gets it through setSecureContext: connections already open keep
// the context they started with, new handshakes get the new one, and a pair
// that cannot be used leaves the old one serving, logged and counted.
import { createHash, X509Certificate } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { realpath } from "node:fs/promises";
import { dirname } from "node:path";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { EnrollgateError } from "../errors.js";
import { FILE_LIMITS, FileRefusedError, readRegularFile } from "../safe-file.js";
import type { Logger } from "./log.js";
import type { GateMetrics } from "./metrics.js";

/** The oldest protocol the gate speaks: TLS 1.0 and 1.1 are refused in the handshake. */
export const TLS_MIN_VERSION = "TLSv1.2";

/** Where the certificate and key are. */
export interface TlsFiles {
  /** The PEM certificate, the server's first and then its intermediates (absolute path). */
  readonly cert: string;
  /** The PEM private key, not encrypted (absolute path). */
  readonly key: string;
  /**
   * Directories both files must resolve inside (paths enrollgate.yaml names: the policy directory and the secrets
   * directories); absent: anywhere (the operator's flags).
   */
  readonly within?: ReadonlyArray<string>;
}

/** A certificate and key that were read and checked: ready for a secure context. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The server certificate's SHA-256 fingerprint (`AB:CD:...`). */
  readonly fingerprint256: string;
  readonly subject: string;
  /** When the server certificate expires. */
  readonly notAfter: Date;
}

/** A certificate or key that cannot be used: unreadable, refused, not PEM, or a key that does not match. */
export class TlsError extends EnrollgateError<"tls-unusable"> {
  override readonly name = "TlsError";

  constructor(message: string) {
    super("tls-unusable", message);
  }
}

/** What re-reading the files did: the pair now serving, or why the old one still is. */
export type TlsReloadResult =
  | { readonly ok: true; readonly changed: boolean; readonly fingerprint256: string }
  | { readonly ok: false; readonly error: string; readonly fingerprint256: string };

/** The options a secure context (the server's first, and each one after) is made from. */
export function secureContextOptions(credentials: TlsCredentials): SecureContextOptions {
  return { cert: credentials.cert, key: credentials.key, minVersion: TLS_MIN_VERSION };
}

async function readOne(path: string, what: "certificate" | "key", files: TlsFiles): Promise<Buffer> {
  try {
    return await readRegularFile(path, {
      maxBytes: FILE_LIMITS[what === "certificate" ? "tls-certificate" : "tls-key"],
      ...(files.within !== undefined ? { within: files.within } : {}),
    });
  } catch (e) {
    if (!(e instanceof FileRefusedError)) throw e;
    const why =
      e.problem === "outside"
        ? `${e.message}; a file enrollgate.yaml names must be inside the policy directory or a --secrets-dir`
        : e.problem === "missing" || e.problem === "unreadable"
          ? (e.errno ?? e.message)
          : e.message;
    throw new TlsError(`TLS ${what} ${path} cannot be read: ${why}`);
  }
}

/** Reads the certificate and key and checks that they make a secure context; throws a TlsError naming the problem. */
export async function readTlsCredentials(files: TlsFiles): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([readOne(files.cert, "certificate", files), readOne(files.key, "key", files)]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new TlsError(`TLS certificate ${files.cert} is not a PEM certificate: ${(e as Error).message}`);
  }
  const credentials = {
    cert,
    key,
    fingerprint256: leaf.fingerprint256,
    subject: leaf.subject.replace(/\n/g, ", "),
    notAfter: new Date(leaf.validTo),
  };
  try {
    // What the server will do with them: a key that is not PEM, is encrypted,
    // or does not match the certificate fails here, not in a handshake.
    createSecureContext(secureContextOptions(credentials));
  } catch (e) {
    const message = (e as Error).message;
    const why = /key values mismatch/i.test(message) ? "the key does not match the certificate" : message;
    throw new TlsError(`TLS certificate ${files.cert} and key ${files.key} cannot be used: ${why}`);
  }
  return credentials;
}

const digestOf = (c: TlsCredentials) => createHash("sha256").update(c.cert).update("\0").update(c.key).digest("hex");

/** Where the files are, and where their symlinks lead: the directories to watch. */
async function directoriesOf(files: TlsFiles): Promise<Set<string>> {
  const dirs = new Set<string>();
  for (const path of [files.cert, files.key]) {
    // The directory the path names sees a Secret's `..data` swap and editors'
    // renames; the one it resolves to sees a file written in place.
    dirs.add(dirname(path));
    const real = await realpath(path).catch(() => null);
    if (real !== null) dirs.add(dirname(real));
  }
  return dirs;
}

export interface ServingCertificateOptions {
  readonly logger: Logger;
  readonly metrics: GateMetrics;
  /** Watch the files' directories and re-read on changes (default true). */
  readonly watch?: boolean;
  /** Quiet time after a change before the files are re-read (default 250 ms): a renewal writes two files. */
  readonly debounceMs?: number;
}

/**
 * The certificate a TLS server is serving, kept in step with its files. `reload()` (SIGHUP) and changes in the
 * files' directories re-read them; a pair that reads and checks is handed to the server, any other leaves the
 * current one serving, logs `tls-reload-failed` and counts `enrollgate_tls_reload_failures_total`.
 */
export class ServingCertificate {
  private current: TlsCredentials;
  private digest: string;
  private queue: Promise<unknown> = Promise.resolve();
  private watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private source: TlsFiles,
    initial: TlsCredentials,
    private readonly server: { setSecureContext(options: SecureContextOptions): void },
    private readonly options: ServingCertificateOptions,
  ) {
    this.current = initial;
    this.digest = digestOf(initial);
    this.expires(initial);
    if (options.watch !== false) void this.rewatch();
  }

  /** The pair now serving. */
  get credentials(): TlsCredentials {
    return this.current;
  }

  /** The files now read. */
  get files(): TlsFiles {
    return this.source;
  }

  /** Re-reads the files; one re-read at a time. Never throws. */
  reload(reason: string): Promise<TlsReloadResult> {
    return this.serially(() => this.load(this.source, reason, false));
  }

  /** Serves from other files from now on (enrollgate.yaml's `tls` changed), if they read and check. Never throws. */
  use(files: TlsFiles, reason: string): Promise<TlsReloadResult> {
    return this.serially(() => this.load(files, reason, false));
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private serially(run: () => Promise<TlsReloadResult>): Promise<TlsReloadResult> {
    const next = this.queue.then(run, run);
    this.queue = next;
    return next;
  }

  private async load(files: TlsFiles, reason: string, quiet: boolean): Promise<TlsReloadResult> {
    const { logger, metrics } = this.options;
    let fresh: TlsCredentials;
    try {
      fresh = await readTlsCredentials(files);
      if (this.closed) return { ok: true, changed: false, fingerprint256: this.current.fingerprint256 };
      const digest = digestOf(fresh);
      const changed = digest !== this.digest;
      if (changed) {
        this.server.setSecureContext(secureContextOptions(fresh));
        this.current = fresh;
        this.digest = digest;
        metrics.tlsReloads.inc();
        this.expires(fresh);
      }
      this.source = files;
      if (changed || !quiet) {
        logger.info(
          {
            event: "tls-reload",
            reason,
            changed,
            subject: fresh.subject,
            fingerprint256: fresh.fingerprint256,
            notAfter: fresh.notAfter.toISOString(),
          },
          changed ? "serving a new TLS certificate" : "TLS certificate unchanged",
        );
      }
      return { ok: true, changed, fingerprint256: this.current.fingerprint256 };
    } catch (e) {
      const error = (e as Error).message;
      metrics.tlsReloadFailures.inc();
      logger.error(
        { event: "tls-reload-failed", reason, error, keeping: this.current.fingerprint256 },
        "the TLS certificate and key cannot be used; keeping the one serving",
      );
      return { ok: false, error, fingerprint256: this.current.fingerprint256 };
    } finally {
      // Symlinks may now lead elsewhere (a Secret's new ..data): watch where they lead.
      if (this.options.watch !== false && !this.closed) void this.rewatch();
    }
  }

  private expires(credentials: TlsCredentials): void {
    const gauge = this.options.metrics.tlsCertificateExpiry;
    gauge.reset();
    gauge.set({ subject: credentials.subject }, credentials.notAfter.getTime() / 1000);
  }

  private changed(): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.serially(() => this.load(this.source, "certificate files changed", true));
    }, this.options.debounceMs ?? 250);
  }

  private async rewatch(): Promise<void> {
    const wanted = await directoriesOf(this.source);
    if (this.closed) return;
    for (const [dir, w] of this.watchers) {
      if (wanted.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, () => this.changed());
        // A directory that goes away (a Secret's old timestamped one) ends its watcher; the next re-read looks again.
        w.on("error", () => {
          w.close();
          if (this.watchers.get(dir) === w) this.watchers.delete(dir);
          this.changed();
        });
        this.watchers.set(dir, w);
      } catch (e) {
        this.options.logger.warn(
          { event: "watch-error", dir, error: (e as Error).message },
          "cannot watch the TLS certificate's directory; SIGHUP still re-reads it",
        );
      }
    }
  }
}
