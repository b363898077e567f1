// npm as users run it, offline. Installing resolves dependencies through the
// registry's metadata (package-lock.json here names no tarball URLs, so even
// `npm ci` asks for it), and npm ci does not keep the form npm install reads;
// so the tests answer those requests themselves, on loopback, from
// package-lock.json: every version the lockfile holds, with its integrity and
// its tarball's registry URL. npm finds those tarballs in its cache (npm ci
// warmed it: the URL is the cache key, hence replace-registry-host=never) and
// fetches none. A tarball missing from the cache would be fetched from the
// registry: the only network use left, and only on a machine whose npm ci did
// not run.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll } from "vitest";
import { projectPath, readProject } from "./project.js";

interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly [field: string]: unknown;
}

/** Where npm ci fetched the tarballs from, so where its cache has them. */
const TARBALLS = "https://registry.npmjs.org";

/** What a registry says of each package name: the versions the lockfile holds. */
function packuments(): Map<string, object> {
  const lock = JSON.parse(readProject("package-lock.json")) as { packages: Record<string, LockEntry> };
  const docs = new Map<string, { name: string; versions: Record<string, object>; "dist-tags": { latest: string } }>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === "" || entry.link === true || entry.version === undefined || entry.integrity === undefined) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    const doc = docs.get(name) ?? { name, versions: {}, "dist-tags": { latest: entry.version } };
    const manifest: Record<string, unknown> = { name, version: entry.version };
    for (const field of [
      "dependencies",
      "optionalDependencies",
      "peerDependencies",
      "peerDependenciesMeta",
      "bin",
      "engines",
      "os",
      "cpu",
    ]) {
      if (entry[field] !== undefined) manifest[field] = entry[field];
    }
    const file = `${name.split("/").pop() ?? name}-${entry.version}.tgz`;
    manifest.dist = { tarball: `${TARBALLS}/${name}/-/${file}`, integrity: entry.integrity };
    doc.versions[entry.version] = manifest;
    docs.set(name, doc);
  }
  return docs;
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((ok) => s.close(ok))));
});

/** A registry on loopback serving the lockfile's metadata; its URL. */
export async function lockfileRegistry(): Promise<string> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const docs = packuments();
  server.on("request", (req, res) => {
    const doc = docs.get(decodeURIComponent((req.url ?? "/").slice(1)));
    res.writeHead(doc === undefined ? 404 : 200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(doc ?? { error: "not in package-lock.json" }));
  });
  return base;
}

/** The environment npm runs in here: this registry, the cache `npm ci` warmed, nothing else. */
export function npmEnv(registry: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    npm_config_registry: `${registry}/`,
    npm_config_replace_registry_host: "never",
    npm_config_prefer_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_loglevel: "warn",
    ...extra,
  };
}

export interface Exec {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; never throws for a non-zero exit. */
export function exec(
  command: string,
  args: ReadonlyArray<string>,
  options: { cwd: string; env: Record<string, string> },
): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `npm pack` of the project as built (npm test builds first; packing does not build again). */
export async function packProject(into: string): Promise<{ tarball: string; files: string[] }> {
  const r = await exec("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", into], {
    cwd: projectPath(),
    env: npmEnv("http://127.0.0.1:9"),
  });
  if (r.code !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const [packed] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (packed === undefined) throw new Error(`npm pack printed nothing: ${r.stderr}`);
  return { tarball: join(into, packed.filename), files: packed.files.map((f) => f.path).sort() };
}
