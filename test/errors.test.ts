// Every error enrollgate throws has a stable code and a category (src/errors.ts):
// callers, the CLI among them, decide by those, never by class name or message.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  EnrollgateError,
  type ErrorCategory,
  GateNotRunError,
  hasErrorCode,
  InternalError,
  isInputError,
  PolicyLoadError,
  PolicySetError,
  InventoryError,
  StartupError,
} from "enrollgate";
import { FileRefusedError, HydrationError } from "enrollgate/policy";
import {
  AppleSchemaError,
  CertificateError,
  CmsError,
  CommandError,
  DeviceInformationError,
  EncodingError,
  PlistError,
  SchemaTargetError,
  VersionError,
} from "enrollgate/apple";
import { AduError, FeedError } from "enrollgate/feeds";
import { TlsError, TrustAnchorError, TrustProxyError } from "enrollgate/gate";
import { GitSourceError, UsageError } from "enrollgate/cli";
import { enrollgate } from "./helpers/cli.js";
import { readSources } from "./helpers/import-graph.js";
import { projectPath, readProject } from "./helpers/project.js";
import { tempDir } from "./helpers/tmp.js";

/** One of each error class in src/, with the code and category it must carry. */
const ERRORS: ReadonlyArray<readonly [EnrollgateError, string, ErrorCategory]> = [
  [new UsageError("m"), "usage", "input"],
  [new PolicyLoadError("m"), "policy-dir-unreadable", "input"],
  [new PolicySetError("m", []), "policy-set-invalid", "input"],
  [new StartupError("m", "listen-failed"), "listen-failed", "input"],
  [new TrustAnchorError("m"), "trust-anchor-unreadable", "input"],
  [new TrustProxyError("m"), "trust-proxy-invalid", "input"],
  [new TlsError("m"), "tls-unusable", "input"],
  [new FeedError("m"), "feed-unusable", "input"],
  [new AduError("throttled", "m", 429), "adu-throttled", "input"],
  [new FileRefusedError("not-regular", "m"), "file-not-regular", "input"],
  [new VersionError("m"), "version-invalid", "input"],
  [new AppleSchemaError("m", "f.yaml"), "apple-schema-invalid", "input"],
  [new SchemaTargetError("m"), "schema-target-invalid", "input"],
  [new PlistError("m"), "plist-invalid", "input"],
  [new EncodingError("m"), "ber-invalid", "input"],
  [new CertificateError("m"), "certificate-unreadable", "input"],
  [new CmsError("m", "too-many-certificates"), "too-many-certificates", "input"],
  [new CommandError("m"), "command-invalid", "input"],
  [new DeviceInformationError("m"), "device-information-invalid", "input"],
  [new GateNotRunError(), "gate-not-run", "internal"],
  [new GitSourceError("m"), "git-source-unreadable", "input"],
  [new InventoryError([]), "inventory-invalid", "input"],
  [new HydrationError("m"), "hydration-failed", "internal"],
  [new InternalError("m"), "internal", "internal"],
];

describe("errors enrollgate throws", () => {
  const sources = Object.entries(readSources(projectPath("src"))).filter(([file]) => file !== "errors.ts");

  it("are all EnrollgateErrors: src/ defines no other error class and throws no plain Error", () => {
    const plain = sources.flatMap(([file, text]) =>
      [...text.matchAll(/\bextends (?:Type|Range|Syntax)?Error\b|\bnew (?:Type|Range|Syntax)?Error\(/g)].map(
        (m) => `src/${file}: ${m[0]}`,
      ),
    );
    expect(plain).toEqual([]);
  });

  it("each carry a stable code and say whether the input or enrollgate is at fault", () => {
    const defined = sources.flatMap(([, text]) =>
      [...text.matchAll(/\bclass (\w+) extends EnrollgateError\b/g)].map((m) => m[1]),
    );
    expect(ERRORS.map(([e]) => e.constructor.name).sort()).toEqual([...defined, "InternalError"].sort());
    for (const [e, code, category] of ERRORS) {
      expect(e).toBeInstanceOf(EnrollgateError);
      expect([e.name, e.code, e.category]).toEqual([e.constructor.name, code, category]);
    }
  });

  it("are told apart by code and category, never by class name", () => {
    expect(isInputError(new FeedError("m"))).toBe(true);
    expect(isInputError(new HydrationError("m"))).toBe(false);
    expect(isInputError(Object.assign(new Error("m"), { name: "UsageError", code: "usage" }))).toBe(false);
    class ThirdPartyError extends EnrollgateError<"third-party"> {
      override readonly name = "ThirdPartyError";
    }
    expect(isInputError(new ThirdPartyError("third-party", "m"))).toBe(true);
    expect(hasErrorCode(new AduError("forbidden", "m", 403), "adu-forbidden")).toBe(true);
    expect(hasErrorCode(new AduError("forbidden", "m", 403), "adu-throttled")).toBe(false);
  });

  it("are listed, code by code, in docs/library.md's Errors section", () => {
    const page = readProject("docs", "library.md");
    const section = page.slice(page.indexOf("\n## Errors\n"));
    expect(section.length).toBeLessThan(page.length);
    for (const [e, code] of ERRORS) if (!(e instanceof CmsError)) expect(section, code).toContain(`\`${code}\``);
  });
});

describe("the CLI and an input error", () => {
  it.each([
    [
      "a CommandUUID that cannot be one (CommandError)",
      async () => ["os-update-status", "command", "--uuid", ""],
      'enrollgate: "" cannot be a CommandUUID (1-128 printable characters)\n',
    ],
    [
      "an Apple schema file that is not one (AppleSchemaError)",
      async () => {
        const dir = await tempDir();
        await writeFile(join(dir, "bad.yaml"), "payloadkeys: 7\n");
        return ["schema", join(dir, "bad.yaml")];
      },
      /^enrollgate: \/.*\/bad\.yaml: not an Apple device-management schema: "title" must be a string; payloadkeys must be a sequence of keys\n$/,
    ],
    [
      "an OS version that is not one (VersionError)",
      async () => ["schema", projectPath("schemas", "machineinfo.yaml"), "--platform", "iOS", "--os", "1.2.3.4"],
      /^enrollgate: "1\.2\.3\.4" is not an Apple OS version \(expected /,
    ],
    [
      "a policy directory that does not exist (PolicyLoadError)",
      async () => ["validate", "/nonexistent/policies"],
      "enrollgate: policy directory /nonexistent/policies does not exist\n",
    ],
  ] as const)("prints %s as its message alone, and exits 2", async (_what, args, message) => {
    const r = await enrollgate([...(await args())]);
    expect(r.code).toBe(2);
    if (typeof message === "string") expect(r.stderr).toBe(message);
    else expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("internal error");
  });
});
