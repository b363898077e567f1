// The one way the gate reads a file someone else named: confined, regular,
// checked on the open descriptor, never blocking, size-capped.
import { execFileSync } from "node:child_process";
import { symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileRefusedError, type ReadOptions, readRegularFile, readRegularFileSync } from "enrollgate/policy";
import { tempDir } from "./helpers/tmp.js";

type Reader = (path: string, options: ReadOptions) => Promise<Buffer>;
const readers: Array<[string, Reader]> = [
  ["readRegularFile", readRegularFile],
  ["readRegularFileSync", async (p, o) => readRegularFileSync(p, o)],
];

async function refusal(read: Reader, path: string, options: ReadOptions): Promise<FileRefusedError> {
  const error = await read(path, options).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FileRefusedError);
  return error as FileRefusedError;
}

describe.each(readers)("%s", (_name, read) => {
  it("reads a regular file, and follows a symlink that stays inside", async () => {
    const dir = await tempDir({ "p/a.txt": "hello", "p/sub/b.txt": "inside" });
    await symlink(join(dir, "p/sub/b.txt"), join(dir, "p/link"));
    expect((await read(join(dir, "p/a.txt"), { maxBytes: 5 })).toString()).toBe("hello");
    expect((await read(join(dir, "p/link"), { maxBytes: 100, within: [join(dir, "p")] })).toString()).toBe("inside");
  });

  it.each([
    [
      "a FIFO",
      (dir: string) => execFileSync("mkfifo", [join(dir, "p/x")]),
      "not-regular",
      "a FIFO, not a regular file",
    ],
    [
      "a directory",
      (dir: string) => execFileSync("mkdir", [join(dir, "p/x")]),
      "not-regular",
      "a directory, not a regular file",
    ],
    [
      "a symlink to a device",
      (dir: string) => execFileSync("ln", ["-s", "/dev/zero", join(dir, "p/x")]),
      "not-regular",
      "a device, not a regular file",
    ],
  ])("refuses %s without blocking", async (_what, make, problem, message) => {
    const dir = await tempDir({ "p/keep": "" });
    make(dir);
    const e = await refusal(read, join(dir, "p/x"), { maxBytes: 1024 });
    expect([e.problem, e.message]).toEqual([problem, message]);
  });

  it("refuses a file over the cap before reading it", async () => {
    const dir = await tempDir({ big: "x".repeat(2048) });
    const e = await refusal(read, join(dir, "big"), { maxBytes: 1024 });
    expect([e.problem, e.message]).toEqual(["too-large", "the file is 2048 bytes, more than the 1 KiB it may have"]);
  });

  it("refuses what leaves the allowed directories: by .., by a symlink, or by an absolute path", async () => {
    const dir = await tempDir({ "p/in": "ok", secret: "no" });
    await symlink(join(dir, "secret"), join(dir, "p/out"));
    const within = [join(dir, "p")];
    for (const path of [join(dir, "p/../secret"), join(dir, "p/out"), "/etc/hostname"]) {
      expect((await refusal(read, path, { maxBytes: 100, within })).problem, path).toBe("outside");
    }
    expect((await refusal(read, join(dir, "p/out"), { maxBytes: 100, within })).resolved).toBe(join(dir, "secret"));
    // A second allowed directory makes the same file fine.
    expect((await read(join(dir, "p/out"), { maxBytes: 100, within: [...within, dir] })).toString()).toBe("no");
  });

  it("tells a missing file inside from one outside", async () => {
    const dir = await tempDir({ "p/in": "ok" });
    const within = [join(dir, "p"), "/nonexistent/secrets"];
    expect((await refusal(read, join(dir, "p/gone"), { maxBytes: 100, within })).problem).toBe("missing");
    expect((await refusal(read, "/nonexistent/secrets/token", { maxBytes: 100, within })).problem).toBe("missing");
    expect((await refusal(read, "/nonexistent/elsewhere/token", { maxBytes: 100, within })).problem).toBe("outside");
  });

  it("reads an empty file and one exactly at the cap", async () => {
    const dir = await tempDir({ empty: "", full: "y".repeat(1024) });
    expect((await read(join(dir, "empty"), { maxBytes: 1024 })).length).toBe(0);
    expect((await read(join(dir, "full"), { maxBytes: 1024 })).length).toBe(1024);
    await writeFile(join(dir, "full"), "y".repeat(1025));
    expect((await refusal(read, join(dir, "full"), { maxBytes: 1024 })).problem).toBe("too-large");
  });
});
