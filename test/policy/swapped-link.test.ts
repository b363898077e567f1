// A policy directory reached through a link that is swapped whole (git-sync's
// `current`, a release tool's): a set is read from one checkout, never some
// files from the old one and some from the new. Real files, a real symlink
// swapped (rename over it, as git-sync does) between every step of the read.
import { renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPolicySet } from "enrollgate";
import { tempDir } from "../helpers/tmp.js";

const FILES = 12;

/** A checkout whose every rule file names it: a set read from one checkout names one. */
function checkout(name: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++)
    files[`${name}/rules-${String(i).padStart(2, "0")}.yaml`] =
      `rules:\n  - { id: r${i}-${name}, platform: iOS, minimum: "26.6.1" }\n`;
  return files;
}

describe("a policy directory behind a link swapped while it is read", () => {
  it("is read from one checkout: every file from the old one or every file from the new one", async () => {
    const root = await tempDir({ ...checkout("a"), ...checkout("b") });
    const link = join(root, "current");
    symlinkSync("a", link);
    let target = "a";
    let swaps = 0;
    let stop = false;
    // Swap the link at every turn of the event loop, the way git-sync does: a new link renamed over the old.
    const swap = () => {
      if (stop) return;
      target = target === "a" ? "b" : "a";
      const next = join(root, `next-${swaps++}`);
      symlinkSync(target, next);
      renameSync(next, link);
      setImmediate(swap);
    };
    setImmediate(swap);
    const sets: string[][] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const source = await loadPolicySet(link, { cwd: root });
        expect(source.unreadable).toEqual([]);
        sets.push([...new Set(source.files.map((f) => /id: r\d+-(\w)/.exec(f.text)?.[1] ?? "?"))]);
        // Findings keep naming the files by the path the operator gave.
        expect(source.files.map((f) => f.path)[0]).toBe("current/rules-00.yaml");
      }
    } finally {
      stop = true;
    }
    expect(swaps).toBeGreaterThan(20);
    expect(sets.filter((s) => s.length !== 1)).toEqual([]);
    expect(new Set(sets.map((s) => s[0]))).toEqual(new Set(["a", "b"]));
  });
});
