// `enrollgate coverage`: the real command, its exit codes, and its HTML page
// opened in a real headless Chromium (test/helpers/chromium.ts), read from
// the DOM and screenshotted (kept at $ENROLLGATE_COVERAGE_SCREENSHOT when set).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { countColour, openPage, pngSize, type OpenedPage } from "../helpers/chromium.js";
import { sharedPath } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

const GDMF = sharedPath("feeds", "gdmf-2026-08-22.json");
const SOFA = sharedPath("feeds", "sofa-2026-08-22", "ios_data_feed.json");

const RULES = `rules:
  - id: exposed-floor
    platform: iOS
    models: ["iPhone17,*"]
    minimum: "26.1"
    target: latest
    description: "<script>document.title='pwned'</script><img src=https://example.com/x.png>"
  - id: ok-floor
    platform: iOS
    models: ["iPhone16,*"]
    minimum: "26.6.1"
  - id: stranding-floor
    platform: iOS
    models: ["iPhone11,*"]
    minimum: "26.0"
    whenUnavailable: block
`;

const coverage = (dir: string, args: string[]) =>
  enrollgate(["coverage", "--policies", "p", "--gdmf", GDMF, "--now", "2026-09-01", ...args], { cwd: dir });

describe("enrollgate coverage", () => {
  it("exits 1 when a model cannot reach its floor or is left exposed; --fail-on chooses", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    expect((await coverage(dir, ["--sofa", SOFA])).code).toBe(1);
    expect((await coverage(dir, ["--sofa", SOFA, "--fail-on", "none"])).code).toBe(0);
    const exposedOnly = await coverage(dir, ["--sofa", SOFA, "--fail-on", "exposed", "--format", "json"]);
    expect(exposedOnly.code).toBe(1);
    const ok = await tempDir({
      "p/rules.yaml": 'rules:\n  - {id: a, platform: iOS, models: ["iPhone16,*"], minimum: "26.6.1"}\n',
    });
    expect((await coverage(ok, ["--sofa", SOFA])).code).toBe(0);
  });

  it("refuses bad input with exit 2 and the reason", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const plain = await tempDir({ "p/rules.yaml": 'rules:\n  - {id: a, platform: iOS, minimum: "26.6.1"}\n' });
    const noFeed = await enrollgate(["coverage", "--policies", "p"], { cwd: plain });
    expect([noFeed.code, noFeed.stderr]).toEqual([
      2,
      expect.stringContaining("coverage lists the models in Apple's feed: give a snapshot with --gdmf FILE"),
    ]);
    const badStatus = await coverage(dir, ["--fail-on", "broken"]);
    expect([badStatus.code, badStatus.stderr]).toEqual([
      2,
      expect.stringContaining('--fail-on: "broken" is not a status'),
    ]);
    const badPlatform = await coverage(dir, ["--platform", "Android"]);
    expect([badPlatform.code, badPlatform.stderr]).toEqual([
      2,
      expect.stringContaining('--platform: "Android" is not a platform (iOS, iPadOS, macOS, visionOS)'),
    ]);
    const badFormat = await coverage(dir, ["--format", "pdf"]);
    expect(badFormat.code).toBe(2);
  });

  it("lists a feed's models as identifiers only: a hostile one cannot end a markdown row or start a line", async () => {
    const feed = JSON.parse(await readFile(GDMF, "utf8")) as {
      PublicAssetSets: { iOS: Array<{ SupportedDevices: string[] }> };
    };
    const hostile = [
      'iPhone99,1|<img src="https://attacker.example/x.png"> @org/security\n## Every model is covered',
      "iPhone98,1\n::error title=forged::coverage ok",
      "iPhone97,1`",
    ];
    feed.PublicAssetSets.iOS[0]?.SupportedDevices.push(...hostile);
    const dir = await tempDir({ "p/rules.yaml": RULES, "gdmf.json": JSON.stringify(feed) });
    for (const format of ["markdown", "text", "json"]) {
      const r = await enrollgate(
        ["coverage", "--policies", "p", "--gdmf", "gdmf.json", "--now", "2026-09-01", "--format", format],
        { cwd: dir },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("");
      expect(r.stdout).not.toMatch(/iPhone9[789],1|attacker\.example|^## Every|^::error title=forged/m);
    }
  });

  it("--out writes the report to a file", async () => {
    const dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await coverage(dir, [
      "--sofa",
      SOFA,
      "--format",
      "markdown",
      "--out",
      "coverage.md",
      "--fail-on",
      "none",
    ]);
    expect([r.code, r.stdout]).toEqual([0, ""]);
    expect(await readFile(join(dir, "coverage.md"), "utf8")).toMatch(/^### Enrollment coverage\n/);
  });
});

describe("coverage --format html in headless Chromium", () => {
  let page: OpenedPage;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir({ "p/rules.yaml": RULES });
    const r = await coverage(dir, ["--sofa", SOFA, "--format", "html", "--out", "coverage.html"]);
    expect(r.code).toBe(1);
    page = await openPage(pathToFileURL(join(dir, "coverage.html")).href);
  }, 120_000);
  afterAll(async () => {
    await page?.close();
  });

  it("is self-contained: the page loads nothing but itself, and runs no script from the policies", async () => {
    expect(page.requests).toEqual([pathToFileURL(join(dir, "coverage.html")).href]);
    expect(await page.evaluate<string>("document.title")).toBe("Enrollment coverage at 2026-09-01");
    expect(await page.evaluate<number>("document.querySelectorAll('script, img, link, iframe').length")).toBe(0);
    expect(
      await page.evaluate<string>("document.querySelector('table.rules tbody tr td:nth-of-type(7)').textContent"),
    ).toBe("<script>document.title='pwned'</script><img src=https://example.com/x.png>");
  });

  it("shows the matrix of platforms by status, and a row per model coloured by its status", async () => {
    const matrix = await page.evaluate<string[][]>(
      "[...document.querySelectorAll('#matrix tr')].map(r => [...r.cells].map(c => c.textContent.trim()))",
    );
    expect(matrix[0]).toEqual([
      "Platform",
      "✕unreachable",
      "!exposed",
      "?uncovered",
      "◐audit-only",
      "–unsupported",
      "✓ok",
      "All",
    ]);
    expect(matrix[1]).toEqual(["iOS", "4", "5", "24", "0", "19", "2", "54"]);
    const row = await page.evaluate<{ status: string; background: string; cells: string[] }>(`(() => {
      const r = [...document.querySelectorAll('table.models tr')].find(r => r.cells[0]?.textContent === 'iPhone17,3');
      return { status: r.dataset.status, background: getComputedStyle(r).backgroundColor,
        cells: [...r.cells].map(c => c.textContent) };
    })()`);
    expect(row.status).toBe("exposed");
    expect(row.background).toBe("rgb(254, 240, 199)");
    expect(row.cells.slice(0, 8)).toEqual([
      "iPhone17,3",
      "iPhone 16",
      "exposed-floor",
      "26.1",
      "26.6.1",
      "26.6.1",
      "!exposed",
      "CVE-2025-14174 (26.2), CVE-2025-43529 (26.2), CVE-2026-20700 (26.3)",
    ]);
  });

  it("renders the colours on screen: a screenshot of the page shows each status's colour", async () => {
    const png = await page.screenshot();
    await writeFile(join(dir, "coverage.png"), png);
    if (process.env.ENROLLGATE_COVERAGE_SCREENSHOT) await writeFile(process.env.ENROLLGATE_COVERAGE_SCREENSHOT, png);
    expect(pngSize(png).width).toBeGreaterThan(1300); // the window, less a scrollbar
    expect(pngSize(png).height).toBeGreaterThan(2000); // the whole page, 286 models long
    expect(countColour(png, "#fef0c7")).toBeGreaterThan(1000); // exposed rows
    expect(countColour(png, "#fde2e1")).toBeGreaterThan(1000); // unreachable rows
    expect(countColour(png, "#dcfae6")).toBeGreaterThan(1000); // ok rows
    expect(countColour(png, "#b42318")).toBeGreaterThan(100); // the unreachable chips
  });
});
