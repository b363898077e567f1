// Reading a file someone else named: a policy file, a beta token file, a
// trust anchor, a feed snapshot, a TLS certificate or key. Whoever named it (a policy change in git)
// must not be able to make the gate read the server's own files, block on a
// FIFO or a device, or fill memory. So: the path can be confined to a set of
// directories (after resolving symlinks and `..`), only a regular file is
// read, that is checked on the open descriptor (nothing can be swapped in
// between the check and the read), the open never blocks, and the size is
// capped before and while reading.
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { EnrollgateError } from "./errors.js";

/** What each kind of file may weigh. */
export const FILE_LIMITS = {
  policy: 16 * 1024 * 1024,
  token: 64 * 1024,
  "trust-anchor": 1024 * 1024,
  feed: 32 * 1024 * 1024,
  "tls-certificate": 1024 * 1024,
  "tls-key": 64 * 1024,
} as const;

export type FileProblem =
  /** it does not exist */
  | "missing"
  /** it exists but cannot be opened or read (permissions, I/O) */
  | "unreadable"
  /** a FIFO, a device, a socket or a directory */
  | "not-regular"
  | "too-large"
  /** it resolves outside the directories it must stay in */
  | "outside";

/** A file that was not read, and why; the code is `file-` and the problem (`file-outside`...). */
export class FileRefusedError extends EnrollgateError<`file-${FileProblem}`> {
  override readonly name = "FileRefusedError";
  constructor(
    readonly problem: FileProblem,
    message: string,
    /** The errno code behind `missing` and `unreadable`. */
    readonly errno: string | null = null,
    /** For `outside`: where the path really leads, when it exists. */
    readonly resolved: string | null = null,
  ) {
    super(`file-${problem}`, message);
  }
}

export interface ReadOptions {
  readonly maxBytes: number;
  /**
   * Directories the file must be inside once symlinks and `..` are resolved;
   * absent: anywhere (a path the operator gave). Symlinks that stay inside
   * are followed.
   */
  readonly within?: ReadonlyArray<string>;
}

// O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
// O_NOFOLLOW: the confined path is opened by its resolved name, so a symlink
// put in its place after the check is refused rather than followed.
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return "a FIFO";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  if (info.isSocket()) return "a socket";
  if (info.isDirectory()) return "a directory";
  return "not a regular file";
}

function notRegular(info: Stats): FileRefusedError {
  const kind = kindOf(info);
  return new FileRefusedError("not-regular", kind === "not a regular file" ? kind : `${kind}, not a regular file`);
}

function tooLarge(size: number | null, max: number): FileRefusedError {
  const limit = max >= 1024 * 1024 ? `${max / 1024 / 1024} MiB` : `${max / 1024} KiB`;
  return new FileRefusedError(
    "too-large",
    `${size === null ? "the file is" : `the file is ${size} bytes,`} more than the ${limit} it may have`,
  );
}

function fromErrno(e: unknown): FileRefusedError {
  if (e instanceof FileRefusedError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? null;
  if (code === "ENOENT" || code === "ENOTDIR") return new FileRefusedError("missing", "it does not exist", code);
  if (code === "ELOOP") return new FileRefusedError("outside", "it was replaced by a symlink while being read", code);
  return new FileRefusedError("unreadable", `it cannot be read: ${code ?? (e as Error).message}`, code);
}

function outside(path: string, real: string | null, roots: ReadonlyArray<string>): FileRefusedError {
  const where = roots.length === 1 ? roots[0] : `any of ${roots.join(", ")}`;
  const via = real !== null && real !== path ? ` (it resolves to ${real})` : "";
  return new FileRefusedError("outside", `it is outside ${where}${via}`, null, real);
}

/**
 * Where the file really is, or why it may not be read. A path that does not
 * exist is judged by its name, so that a token file missing on a CI machine
 * is "missing", and one outside the directories is "outside" either way.
 */
function confine(path: string, roots: ReadonlyArray<string>, real: (p: string) => string | null): string {
  const realRoots = roots.map((r) => real(r) ?? resolve(r));
  const resolved = real(path);
  if (resolved === null) {
    if (!realRoots.some((r) => isInside(resolve(path), r)) && !roots.some((r) => isInside(resolve(path), resolve(r))))
      throw outside(path, null, roots);
    throw new FileRefusedError("missing", "it does not exist", "ENOENT");
  }
  if (!realRoots.some((r) => isInside(resolved, r))) throw outside(path, resolved, roots);
  return resolved;
}

/** A read buffer sized from fstat that grows (up to the cap) if the file grows while it is read. */
class Growing {
  buffer: Buffer;
  length = 0;

  constructor(
    size: number,
    private readonly max: number,
  ) {
    // One byte more than expected: reading it means the file grew.
    this.buffer = Buffer.alloc(Math.min(size, max) + 1);
  }

  get room(): number {
    return this.buffer.length - this.length;
  }

  grew(n: number): void {
    this.length += n;
    if (this.length > this.max) throw tooLarge(null, this.max);
    if (this.length === this.buffer.length) {
      const bigger = Buffer.alloc(Math.min(this.buffer.length * 2, this.max + 1));
      this.buffer.copy(bigger);
      this.buffer = bigger;
    }
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function realOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/**
 * Reads a regular file, synchronously: for code already off the serving thread (the compile worker, one-shot CLI
 * commands).
 */
export function readRegularFileSync(path: string, options: ReadOptions): Buffer {
  try {
    const target = options.within !== undefined ? confine(path, options.within, realOrNull) : path;
    // A first look by name, so that a device is never even opened.
    const named = statSync(target);
    if (!named.isFile()) throw notRegular(named);
    const fd = openSync(target, constants.O_RDONLY | O_NONBLOCK | (options.within !== undefined ? O_NOFOLLOW : 0));
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw notRegular(info);
      if (info.size > options.maxBytes) throw tooLarge(info.size, options.maxBytes);
      const into = new Growing(info.size, options.maxBytes);
      for (;;) {
        const n = readSync(fd, into.buffer, into.length, into.room, null);
        if (n === 0) return into.bytes();
        into.grew(n);
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fromErrno(e);
  }
}

async function realOrNullAsync(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch {
    return null;
  }
}

/** Reads a regular file without blocking the event loop on it. */
export async function readRegularFile(path: string, options: ReadOptions): Promise<Buffer> {
  try {
    let target = path;
    if (options.within !== undefined) {
      const reals = new Map<string, string | null>();
      for (const p of [path, ...options.within]) reals.set(p, await realOrNullAsync(p));
      target = confine(path, options.within, (p) => reals.get(p) ?? null);
    }
    const named = await stat(target);
    if (!named.isFile()) throw notRegular(named);
    const handle = await open(
      target,
      constants.O_RDONLY | O_NONBLOCK | (options.within !== undefined ? O_NOFOLLOW : 0),
    );
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw notRegular(info);
      if (info.size > options.maxBytes) throw tooLarge(info.size, options.maxBytes);
      const into = new Growing(info.size, options.maxBytes);
      for (;;) {
        const { bytesRead } = await handle.read(into.buffer, into.length, into.room, null);
        if (bytesRead === 0) return into.bytes();
        into.grew(bytesRead);
      }
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw fromErrno(e);
  }
}
