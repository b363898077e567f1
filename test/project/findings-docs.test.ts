// One catalogue of finding codes (FINDING_CODES): docs/findings.md has an
// entry for each, written from it by `npm run docs`; the docs' tables of codes
// agree with it; SARIF links each rule to its entry.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type FindingCode, formatReport } from "enrollgate";
import { FINDING_CODES } from "enrollgate/policy";
import { findingsDocsUrl, type PackageManifest } from "enrollgate/report";
import { enrollgate } from "../helpers/cli.js";
import { run } from "../helpers/processes.js";
import { docsPages, projectPath, readProject } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";

const page = readProject("docs", "findings.md");
const codes = Object.keys(FINDING_CODES) as FindingCode[];

/** The anchor GitHub gives a heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The page's entries: the code in each `## ` heading, and the severity and title under it. */
function entries(markdown: string): Array<{ code: string; anchor: string; title?: string; severity?: string }> {
  return markdown
    .split(/^## /m)
    .slice(1)
    .map((section) => {
      const [heading = "", ...rest] = section.split("\n");
      const line = /^\*\*(.+)\*\*, an? (error|warning)\.$/m.exec(rest.join("\n"));
      return {
        code: heading.replace(/^`|`$/g, ""),
        anchor: anchor(heading),
        ...(line !== null ? { title: line[1], severity: line[2] } : {}),
      };
    });
}

describe("docs/findings.md", () => {
  it("has one entry per finding code, in the catalogue's order, headed by the code, with its title and severity", () => {
    expect(entries(page)).toEqual(
      codes.map((code) => ({
        code,
        anchor: code,
        title: FINDING_CODES[code].title,
        severity: FINDING_CODES[code].severity,
      })),
    );
  });

  it("says what each code means and how to fix it, as the catalogue does", () => {
    const sections = page.split(/^## /m).slice(1);
    codes.forEach((code, i) => {
      expect(sections[i], code).toContain(
        `\n\n${FINDING_CODES[code].meaning}\n\n**Fix:** ${FINDING_CODES[code].fix}\n`,
      );
    });
  });

  it("indexes every code with its severity and title, linked to its entry", () => {
    const rows = [...page.matchAll(/^\| \[`([a-z0-9-]+)`\]\(#([a-z0-9-]+)\) \| (error|warning) \| (.+) \|$/gm)].map(
      (m) => [m[1], m[2], m[3], m[4]],
    );
    expect(rows).toEqual(codes.map((code) => [code, code, FINDING_CODES[code].severity, FINDING_CODES[code].title]));
  });

  it("catches an entry missing, extra, or with another severity or title", () => {
    const broken = page
      .replace(/^## `yaml-aliases`$/m, "## `yaml-alias`")
      .replace("**Exemption expired**, a warning.", "**Exemption expired**, an error.");
    const found = entries(broken);
    expect(found.map((e) => e.code)).not.toEqual(codes);
    expect(found.find((e) => e.code === "exemption-expired")?.severity).toBe("error");
  });

  it("is what `npm run docs` writes: the catalogue, and each example as the command line prints it", async () => {
    const check = run(process.execPath, ["scripts/generate-docs.mjs", "--check"]);
    expect(await check.exited).toBe(0);
    expect(check.stderr()).toBe("");
  });
});

describe("the docs' tables of finding codes", () => {
  it("name codes of the catalogue, with their severity", () => {
    const docs = ["README.md", ...docsPages().filter((p) => p !== "docs/findings.md")].map((p) => readProject(p));
    const tables = docs.flatMap((d) => [...d.matchAll(/^\| code \| severity \|.*\n\|[- |]+\|\n((?:\|.*\|\n)+)/gm)]);
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      for (const row of (table[1] ?? "").trimEnd().split("\n")) {
        const m = /^\| \[?`([a-z0-9-]+)`\]?(?:\((?:docs\/)?findings\.md#([a-z0-9-]+)\))? \| (error|warning) \|/.exec(
          row,
        );
        expect(m, row).not.toBeNull();
        const code = m?.[1] as FindingCode;
        expect(FINDING_CODES[code]?.severity, row).toBe(m?.[3]);
        if (m?.[2] !== undefined) expect(m[2], row).toBe(code);
      }
    }
  });
});

describe("SARIF's links to the docs", () => {
  const findings = [
    {
      file: "p/a.yaml",
      line: 4,
      column: 14,
      endLine: 4,
      endColumn: 18,
      severity: "error" as const,
      code: "version-not-string" as const,
      message: "m",
    },
  ];
  type Rule = { id: string; helpUri?: string; help: { text: string; markdown: string } };
  const rulesOf = (sarif: string) =>
    (JSON.parse(sarif) as { runs: Array<{ tool: { driver: { rules: Rule[] } } }> }).runs[0]?.tool.driver.rules ?? [];

  it("link each rule to its entry in docs/findings.md, when the package names its repository", () => {
    const url = "https://github.com/example/enrollgate/blob/v1.2.3/docs/findings.md";
    const rules = rulesOf(
      formatReport("sarif", { findings, files: ["p/a.yaml"], version: "1.2.3", findingsDocsUrl: url }),
    );
    const anchors = new Set(entries(page).map((e) => e.anchor));
    expect(rules.map((r) => r.helpUri)).toEqual(codes.map((code) => `${url}#${code}`));
    for (const r of rules) {
      expect(anchors, r.id).toContain(new URL(r.helpUri ?? "").hash.slice(1));
      expect(r.help.markdown, r.id).toContain(`**Fix:** ${FINDING_CODES[r.id as FindingCode].fix}`);
    }
  });

  it("have no helpUri when it does not, and the help names the page in the package", () => {
    const rules = rulesOf(formatReport("sarif", { findings, files: ["p/a.yaml"], version: "1.2.3" }));
    for (const r of rules) {
      expect(r.helpUri, r.id).toBeUndefined();
      expect(r.help.text, r.id).toMatch(
        new RegExp(`\\n\\nSee docs/findings\\.md#${r.id} in the enrollgate package\\.$`),
      );
    }
  });

  it("come from package.json in `enrollgate validate --format sarif`", async () => {
    const manifest = JSON.parse(readFileSync(projectPath("package.json"), "utf8")) as PackageManifest;
    const dir = await tempDir({ "p/a.yaml": "rules:\n  - id: a\n    platform: iOS\n    minimum: 17.1\n" });
    const r = await enrollgate(["validate", "p", "--format", "sarif"], { cwd: dir });
    const url = findingsDocsUrl(manifest);
    expect(rulesOf(r.stdout).map((rule) => rule.helpUri)).toEqual(
      codes.map((code) => (url === undefined ? undefined : `${url}#${code}`)),
    );
  });
});

describe("findingsDocsUrl", () => {
  const at = (repository: PackageManifest["repository"]) =>
    findingsDocsUrl({ version: "1.2.3", ...(repository !== undefined ? { repository } : {}) });

  it("links GitHub and GitLab repositories at the release's tag, however package.json writes them", () => {
    const github = "https://github.com/example/enrollgate/blob/v1.2.3/docs/findings.md";
    expect(at({ type: "git", url: "git+https://github.com/example/enrollgate.git" })).toBe(github);
    expect(at({ type: "git", url: "https://github.com/example/enrollgate" })).toBe(github);
    expect(at({ type: "git", url: "git+ssh://git@github.com/example/enrollgate.git" })).toBe(github);
    expect(at({ type: "git", url: "git@github.com:example/enrollgate.git" })).toBe(github);
    expect(at("github:example/enrollgate")).toBe(github);
    expect(at("example/enrollgate")).toBe(github);
    expect(at({ type: "git", url: "https://github.com/example/tools.git", directory: "packages/enrollgate" })).toBe(
      "https://github.com/example/tools/blob/v1.2.3/packages/enrollgate/docs/findings.md",
    );
    expect(at("gitlab:example/security/enrollgate")).toBe(
      "https://gitlab.com/example/security/enrollgate/-/blob/v1.2.3/docs/findings.md",
    );
  });

  it("gives none without a repository, or for a host whose file URLs it does not know", () => {
    expect(at(undefined)).toBeUndefined();
    expect(at({ type: "git", url: "https://git.example.com/example/enrollgate.git" })).toBeUndefined();
    expect(at("bitbucket:example/enrollgate")).toBeUndefined();
    expect(at({ type: "git", url: "https://github.com/example" })).toBeUndefined();
    expect(at({ type: "git", url: "not a url" })).toBeUndefined();
  });
});
