import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Test files that run in the src project only. Their subject is the built
 * `enrollgate` command and server, run as processes (dist/ already) or read
 * as files: they import no package entry themselves, so a second run would
 * repeat them to the byte. (Helpers they use may load the package to build
 * fixtures or a logger; that is not what they test.) Every other test file
 * imports a package entry and runs in both projects; test/project/package.test.ts
 * holds this list to that rule.
 */
export const RUN_ONCE: ReadonlyArray<string> = [
  "test/cli/check.test.ts",
  "test/cli/ci-log-injection.test.ts",
  "test/cli/coverage.test.ts",
  "test/cli/ddm.test.ts",
  "test/cli/decision-corpus.test.ts",
  "test/cli/diff.test.ts",
  "test/cli/policy-commands.test.ts",
  "test/cli/schema.test.ts",
  "test/cli/serve-listeners.test.ts",
  "test/cli/serve.test.ts",
  "test/cli/sofa-commands.test.ts",
  "test/cli/test-command.test.ts",
  "test/deploy/action.test.ts",
  "test/deploy/deployment-docs.test.ts",
  "test/deploy/dockerfile.test.ts",
  "test/deploy/kubernetes.test.ts",
  "test/deploy/monitoring.test.ts",
  "test/deploy/nginx.test.ts",
  "test/gate/ambiguous-machine-info.test.ts",
  "test/gate/decision-corpus.test.ts",
  "test/gate/form-machine-info.test.ts",
  "test/gate/json-machine-info.test.ts",
  "test/gate/request-smuggling.test.ts",
  "test/gate/soak.test.ts",
  "test/gate/trust.test.ts",
  "test/gate/upstream-headers.test.ts",
  "test/gate/upstream-paths.test.ts",
  "test/project/docs-examples.test.ts",
  "test/project/express-types.test.ts",
  "test/project/import-graph.test.ts",
  "test/project/install.test.ts",
  "test/project/package.test.ts",
  "test/project/policy-schema.test.ts",
  "test/project/security-references.test.ts",
];

interface Manifest {
  readonly exports: Record<string, string | { readonly types: string; readonly import: string }>;
}

/**
 * Each package entry ("enrollgate", "enrollgate/apple", ...) mapped to its source (src/index.ts, src/apple/index.ts,
 * ...).
 */
function sourceEntries(): Array<{ find: RegExp; replacement: string }> {
  const manifest = JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8")) as Manifest;
  return Object.entries(manifest.exports).flatMap(([subpath, target]) => {
    if (typeof target === "string") return [];
    const source = target.import.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts");
    return [
      {
        find: new RegExp(`^enrollgate${subpath.slice(1).replace(/[/.]/g, "\\$&")}$`),
        replacement: fileURLToPath(new URL(source, import.meta.url)),
      },
    ];
  });
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        // Every test, with the package's entries resolved to src/.
        extends: true,
        resolve: { alias: sourceEntries() },
        test: { name: "src", include: ["test/**/*.test.ts"] },
      },
      {
        // Again, the tests that load the package, as a user does: `enrollgate`
        // resolves through package.json's exports to the build in dist/.
        extends: true,
        test: { name: "dist", include: ["test/**/*.test.ts"], exclude: [...RUN_ONCE] },
      },
    ],
  },
});
