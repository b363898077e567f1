// docs/deployment.md stays true to what it describes: the nginx template's
// placeholders, and the flags of `enrollgate serve` its commands use.
import { describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { readProject } from "../helpers/project.js";

const docs = readProject("docs", "deployment.md");
const template = readProject("deploy", "nginx", "enrollgate.conf.template");

/** The names an `envsubst '$A $B ...'` command lists (its quoted argument may span lines). */
function envsubstNames(text: string): string[][] {
  return [...text.matchAll(/envsubst '([^']*)'/g)].map((m) =>
    [...(m[1] as string).matchAll(/\$([A-Z0-9_]+)/g)].map((n) => n[1] as string).sort(),
  );
}

/** The `enrollgate serve` commands of the page's `sh` blocks, continuation lines joined. */
function serveCommands(text: string): string[] {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/\\\n\s*/g, " "));
  return blocks.flatMap((b) => b.split("\n")).filter((line) => line.startsWith("enrollgate serve "));
}

describe("docs/deployment.md", () => {
  it("fills in exactly the nginx template's placeholders, as the template's own comment does", () => {
    const placeholders = [...new Set([...template.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1] as string))].sort();
    expect(placeholders).toContain("ENROLLGATE_REPLICAS");
    expect(envsubstNames(docs)).toEqual([placeholders]);
    expect(envsubstNames(template)).toEqual([placeholders]);
    const exported = [...docs.matchAll(/\b(ENROLLGATE_[A-Z0-9_]+)=/g)].map((m) => m[1] as string);
    expect([...new Set(exported)].sort()).toEqual(placeholders);
  });

  it("runs enrollgate serve with flags it has", async () => {
    const help = (await enrollgate(["serve", "--help"])).stdout;
    const commands = serveCommands(docs);
    expect(commands.length).toBeGreaterThanOrEqual(3);
    const flags = [...new Set(commands.flatMap((c) => [...c.matchAll(/(?<=\s)--[a-z-]+/g)].map((m) => m[0])))];
    expect(flags).toContain("--tls-cert");
    expect(flags).toContain("--admin-port");
    expect(flags.filter((f) => !new RegExp(`^\\s+${f}\\b`, "m").test(help))).toEqual([]);
  });
});
