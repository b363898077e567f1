// `npm run docs`: writes docs/findings.md from the findings catalogue
// (FINDING_CODES in src/policy/findings.ts, as built in dist/) and the
// examples in scripts/finding-examples.yaml, each run through the real
// command line so that the page shows what enrollgate prints.
// `--check` writes nothing and exits 1 when the page is not what it would
// write (npm test runs it).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PAGE = join(ROOT, "docs", "findings.md");

const { FINDING_CODES } = await import("../dist/policy/findings.js");
const { run } = await import("../dist/cli/program.js");

/** What the command prints for an example, run in a fresh directory holding its files. */
async function output(code, example) {
  const dir = await mkdtemp(join(tmpdir(), "enrollgate-docs-"));
  try {
    for (const [name, text] of Object.entries(example.files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    const args = example.args ?? ["validate", "policies"];
    let stdout = "";
    let stderr = "";
    await run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: example.env ?? {}, cwd: dir });
    if (stderr !== "") throw new Error(`the example for ${code} wrote to stderr:\n${stderr}`);
    if (!stdout.split("\n").some((line) => line.includes(` ${code} `)))
      throw new Error(`the example for ${code} does not report ${code}:\n${stdout}`);
    return `$ enrollgate ${args.join(" ")}\n${stdout}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function article(severity) {
  return severity === "error" ? "an error" : "a warning";
}

async function entry(code, info, example) {
  const parts = [
    `## \`${code}\``,
    `**${info.title}**, ${article(info.severity)}.`,
    info.meaning,
    `**Fix:** ${info.fix}`,
  ];
  if (example !== undefined) {
    if (example.note !== undefined) parts.push(example.note);
    for (const [name, text] of Object.entries(example.files)) {
      parts.push(
        name.endsWith(".json")
          ? `${name}:\n\n\`\`\`json\n${text.trimEnd()}\n\`\`\``
          : `\`\`\`yaml\n# ${name}\n${text.trimEnd()}\n\`\`\``,
      );
    }
    parts.push(`\`\`\`console\n${(await output(code, example)).trimEnd()}\n\`\`\``);
  }
  return parts.join("\n\n");
}

async function findingsPage() {
  const examples = parse(await readFile(join(ROOT, "scripts", "finding-examples.yaml"), "utf8")) ?? {};
  for (const code of Object.keys(examples)) {
    if (!(code in FINDING_CODES))
      throw new Error(`scripts/finding-examples.yaml has an example for ${code}, which is not a finding code`);
  }
  const codes = Object.entries(FINDING_CODES);
  const entries = [];
  for (const [code, info] of codes) entries.push(await entry(code, info, examples[code]));
  return [
    "# Findings",
    "<!-- Written by `npm run docs` from FINDING_CODES (src/policy/findings.ts) and scripts/finding-examples.yaml: edit those, not this page. -->",
    [
      "`enrollgate validate` reports what is wrong with a policy set as findings, one per line:",
      "`file:line:col severity code message` (`enrollgate test` prints the same, without the",
      "severity). Errors fail the command (exit 1); warnings do not, unless `--strict` makes them",
      "errors. `--format sarif` declares every code below as a rule and links it to its entry here;",
      "`--format json` and `github` carry the code too.",
    ].join("\n"),
    [
      "| code | severity | title |",
      "| --- | --- | --- |",
      ...codes.map(([code, info]) => `| [\`${code}\`](#${code}) | ${info.severity} | ${info.title} |`),
    ].join("\n"),
    ...entries,
  ]
    .join("\n\n")
    .concat("\n");
}

const page = await findingsPage();
if (process.argv.includes("--check")) {
  const current = await readFile(PAGE, "utf8").catch(() => "");
  if (current !== page) {
    process.stderr.write("docs/findings.md is not what the catalogue and its examples say: run npm run docs\n");
    process.exit(1);
  }
} else {
  await writeFile(PAGE, page);
}
