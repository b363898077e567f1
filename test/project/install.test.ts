// The package as users install it: the tarball `npm pack` makes, installed
// globally (into a temporary --prefix) and into a project with --omit=dev, on
// a machine with no TypeScript, and offline (test/helpers/npm.ts answers
// npm's metadata requests from package-lock.json; the tarballs come from the
// cache npm ci warmed). Packed once for the file.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exec, lockfileRegistry, npmEnv, packProject } from "../helpers/npm.js";
import { readProject } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";

const MANIFEST = JSON.parse(readProject("package.json")) as {
  version: string;
  license: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

/** Scripts npm runs when a package is installed (and flags in `install-scripts` warnings). */
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepare"];

let packed: { tarball: string; files: string[] };
let registry: string;

beforeAll(async () => {
  packed = await packProject(await tempDir());
  registry = await lockfileRegistry();
}, 60_000);

/** Every package installed under a node_modules tree, by name. */
async function installedPackages(nodeModules: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(nodeModules, { recursive: true })) {
    const parts = entry.split("/");
    if (parts.at(-1) !== "package.json") continue;
    const inner = parts.slice(0, -1);
    // node_modules/<name>/package.json or node_modules/@scope/<name>/package.json, at any depth.
    const at = inner.lastIndexOf("node_modules");
    const name = inner.slice(at + 1);
    if (name.length === 1 && !name[0]?.startsWith("@")) names.push(name[0] ?? "");
    if (name.length === 2 && name[0]?.startsWith("@")) names.push(name.join("/"));
  }
  return [...new Set(names)].sort();
}

const ADU_POLICY = [
  "rules:",
  "  - id: ios-floor",
  "    platform: iOS",
  '    minimum: "26.6.1"',
  "    adu: { provider: Contoso, name: iOS, manufacturer: Apple }",
  "",
].join("\n");

describe("npm pack", () => {
  it("ships the build, the schemas, the example policies, the docs and the LICENSE, and no source maps", () => {
    expect(packed.files).toContain("LICENSE");
    expect(packed.files).toContain("README.md");
    expect(packed.files).toContain("dist/cli/main.js");
    expect(packed.files).toContain("dist/index.d.ts");
    expect(packed.files).toContain("schemas/policy.schema.json");
    expect(packed.files).toContain("policies/iphone.yaml");
    expect(packed.files).toContain("docs/findings.md");
    expect(packed.files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(packed.files.filter((f) => /^(src|test|bench|support|scripts|node_modules)\//.test(f))).toEqual([]);
  });

  it("has a MIT LICENSE, as package.json says, and no script that runs on install", () => {
    expect(MANIFEST.license).toBe("MIT");
    const license = readProject("LICENSE");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the enrollgate authors\n/);
    expect(INSTALL_SCRIPTS.filter((s) => MANIFEST.scripts[s] !== undefined)).toEqual([]);
  });

  it("makes @azure/identity an optional peer, not a dependency", () => {
    expect(MANIFEST.dependencies["@azure/identity"]).toBeUndefined();
    expect(MANIFEST.peerDependencies["@azure/identity"]).toBeDefined();
    expect(MANIFEST.peerDependenciesMeta["@azure/identity"]?.optional).toBe(true);
  });
});

describe("npm install --global ./enrollgate-*.tgz", () => {
  let prefix: string;
  let install: Awaited<ReturnType<typeof exec>>;

  beforeAll(async () => {
    prefix = await tempDir();
    install = await exec("npm", ["install", "--global", "--prefix", prefix, packed.tarball], {
      cwd: prefix,
      env: npmEnv(registry),
    });
  }, 120_000);

  it("installs without warnings, and `enrollgate --version` runs", async () => {
    expect(install.stderr).toBe("");
    expect(install.code).toBe(0);
    const version = await exec(join(prefix, "bin", "enrollgate"), ["--version"], {
      cwd: prefix,
      env: npmEnv(registry),
    });
    expect(version).toMatchObject({ code: 0, stdout: `${MANIFEST.version}\n` });
  });

  it("installs the runtime dependencies only: no TypeScript, no @azure/identity, no Express", async () => {
    const installed = await installedPackages(join(prefix, "lib", "node_modules"));
    expect(installed).toContain("enrollgate");
    for (const name of Object.keys(MANIFEST.dependencies)) expect(installed).toContain(name);
    expect(installed.filter((n) => ["typescript", "@azure/identity", "express", "vitest"].includes(n))).toEqual([]);
  });

  it("names @azure/identity when a live ADU pull has no token and the package is not installed", async () => {
    const dir = await tempDir({ "p/ios.yaml": ADU_POLICY });
    const r = await exec(
      join(prefix, "bin", "enrollgate"),
      ["adu", "pull", "--policies", "p", "--adu-url", "http://127.0.0.1:9", "--adu-instance", "x", "--out", "out.json"],
      { cwd: dir, env: npmEnv(registry) },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("set ENROLLGATE_ADU_TOKEN, or install the optional package @azure/identity");
    expect(r.stderr).toContain("npm install --global @azure/identity");
  });
});

describe("npm install --omit=dev in a project", () => {
  it("installs from the tarball, and the project's `enrollgate` validates the example policies it ships", async () => {
    const project = await tempDir({
      "package.json": JSON.stringify({
        name: "mdm",
        private: true,
        type: "module",
        dependencies: { enrollgate: `file:${packed.tarball}` },
      }),
    });
    const install = await exec("npm", ["install", "--omit=dev"], { cwd: project, env: npmEnv(registry) });
    expect(install.stderr).toBe("");
    expect(install.code).toBe(0);
    const bin = join(project, "node_modules", ".bin", "enrollgate");
    const env = npmEnv(registry);
    expect(await exec(bin, ["--version"], { cwd: project, env })).toMatchObject({
      code: 0,
      stdout: `${MANIFEST.version}\n`,
    });
    const validate = await exec(bin, ["validate", "node_modules/enrollgate/policies"], {
      cwd: project,
      env: { ...env, IOS27_BETA_TOKEN: "t" },
    });
    expect(validate).toMatchObject({ code: 0, stdout: "11 files checked, no findings\n" });
    // The library loads too, from the project, as an application imports it.
    await writeFile(
      join(project, "probe.js"),
      'import { enrollmentGate, decide } from "enrollgate";\nconsole.log(typeof enrollmentGate, typeof decide);\n',
    );
    expect(await exec(process.execPath, ["probe.js"], { cwd: project, env })).toMatchObject({
      code: 0,
      stdout: "function function\n",
    });
    const lock = JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as {
      packages: Record<string, unknown>;
    };
    expect(Object.keys(lock.packages).filter((p) => /node_modules\/(typescript|@azure\/identity)$/.test(p))).toEqual(
      [],
    );
  });
});
