// The validator's rough edges a new user hit (issue 15): a duplicate id
// hidden by another error, tests failing for a rule that merely has an error,
// YAML mistakes reported where the parser gave up rather than where the fix
// goes, and a board id in the wrong letter case that never matches.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatFinding } from "enrollgate";
import { feedAvailability, parseGdmf } from "enrollgate/feeds";
import type { NamedFileRead } from "enrollgate/policy";
import { compileFiles } from "../helpers/policies.js";
import { projectPath } from "../helpers/project.js";

const lines = (files: Record<string, string>, options = {}) =>
  compileFiles(files, options).findings.map((f) => formatFinding(f));

describe("duplicate rule ids", () => {
  it("are reported at both places even when one of the rules has another error", () => {
    expect(
      lines({
        "a.yaml": "rules:\n  - id: floor\n    platform: iOS\n    minimum: 26.6\n",
        "b.yaml": 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "26.6"\n    activeFrom: 2026-02-30\n',
      }),
    ).toEqual([
      'a.yaml:2:9 error duplicate-rule-id rule id "floor" is also defined at b.yaml:2:9',
      'a.yaml:4:14 error version-not-string "minimum" is the YAML number 26.6; write it as a quoted string: "26.6"',
      'b.yaml:2:9 error duplicate-rule-id rule id "floor" is also defined at a.yaml:2:9',
      'b.yaml:5:17 error invalid-date "2026-02-30" is not a real date',
    ]);
  });

  it("a rule with an error does not make the tests that name it fail with 'no policy file defines it'", () => {
    const found = lines({
      "a.yaml": "rules:\n  - id: floor\n    platform: iOS\n    minimum: 26.6\n",
      "a.test.yaml":
        'cases:\n  - name: one\n    facts: { product: "iPhone15,2", osVersion: "26.5" }\n    expect: { decision: block, reason: below-minimum, rule: floor }\n  - name: two\n    facts: { product: "iPhone15,2", osVersion: "26.7" }\n    expect: { decision: allow, reason: compliant, rule: flor }\n',
    });
    expect(found).toEqual([
      'a.test.yaml:7:57 error test-unknown-rule test "two" expects rule "flor", which no policy file defines',
      'a.yaml:4:14 error version-not-string "minimum" is the YAML number 26.6; write it as a quoted string: "26.6"',
    ]);
  });
});

describe("YAML mistakes get a fix at the right line", () => {
  it("a key indented deeper than the one above it is reported at that key, not at the line before", () => {
    expect(lines({ "a.yaml": 'rules:\n  - id: floor\n    platform: iOS\n      minimum: "26.6"\n' })).toEqual([
      'a.yaml:4:7 error yaml-syntax "minimum" is indented deeper than "platform" above it; keys of one mapping start in the same column: indent it like "platform"',
    ]);
    expect(
      lines({ "a.yaml": 'rules:\n  - id: floor\n    platform: iOS\n    minimum: "26.6"\n       message: "x"\n' }),
    ).toEqual([
      'a.yaml:5:8 error yaml-syntax "message" is indented deeper than "minimum" above it; keys of one mapping start in the same column: indent it like "minimum"',
    ]);
  });

  it("tabs are one finding for the file, not one per line", () => {
    expect(
      lines({
        "a.yaml":
          'rules:\n\t- id: floor\n\t  platform: iOS\n\t  models: ["iPhone15,2"]\n\t  minimum: "26.6"\n\t  message: "x"\n',
      }),
    ).toEqual([
      "a.yaml:2:1 error yaml-syntax a tab indents this line and 4 more (lines 3, 4, 5, 6); YAML indents with spaces only: replace the tabs with spaces",
    ]);
  });

  it("an unquoted model list is one finding that says to quote, whether it parses or not", () => {
    expect(
      lines({
        "a.yaml":
          'rules:\n  - id: floor\n    platform: iOS\n    models: [iPhone15,2, iPhone15,3]\n    minimum: "26.6"\n',
      }),
    ).toEqual([
      'a.yaml:4:13 error schema-type "models" reads iPhone15,2 as two values, "iPhone15" and 2: inside [ ] and { } a comma ends a value: quote models such as "iPhone15,2"',
    ]);
    expect(
      lines({ "a.yaml": 'rules:\n  - id: floor\n    platform: iOS\n    models: [iPhone15,*]\n    minimum: "26.6"\n' }),
    ).toEqual([
      'a.yaml:4:23 error yaml-syntax Alias cannot be an empty string; inside [ ] and { } a comma ends a value: quote models such as "iPhone15,2"',
    ]);
  });
});

describe("models in the wrong letter case", () => {
  const gdmf = parseGdmf(
    JSON.stringify({
      PublicAssetSets: {
        macOS: [
          {
            ProductVersion: "26.1",
            Build: "25B78",
            PostingDate: "2026-08-18",
            ExpirationDate: "2026-12-31",
            SupportedDevices: ["J414sAP", "J414cAP"],
          },
        ],
      },
    }),
  );
  const availability = feedAvailability({ gdmf, adu: null });

  it("are warned at the model when the feed lists the right spelling", () => {
    const rules =
      'rules:\n  - { id: mac, platform: macOS, models: ["J414cAP", "J414SAP", "J999AP"], minimum: "26.1" }\n';
    expect(lines({ "a.yaml": rules }, { availability, now: Date.parse("2026-09-01") })).toEqual([
      'a.yaml:2:53 warning model-case-mismatch model "J414SAP" matches no macOS device in Apple\'s feed, which lists "J414sAP": models match in exact letter case, so this rule never applies to it',
    ]);
  });

  it("are not warned without a feed, or when the spelling is right", () => {
    const rules = 'rules:\n  - { id: mac, platform: macOS, models: ["J414SAP"], minimum: "26.1" }\n';
    expect(lines({ "a.yaml": rules })).toEqual([]);
    expect(
      lines({ "a.yaml": rules.replace("J414SAP", "J414sAP") }, { availability, now: Date.parse("2026-09-01") }),
    ).toEqual([]);
  });
});

describe("files a set names", () => {
  const applePem = readFileSync(projectPath("anchors", "apple.pem"), "utf8");
  const disk: Record<string, string> = {
    "/policies/anchors/apple.pem": applePem,
    "/policies/anchors/key.pem": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
    "/policies/anchors/broken.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  };
  const readFile = (path: string): NamedFileRead => {
    const text = disk[path];
    return text !== undefined ? { ok: true, text } : { ok: false, refused: false, problem: "it does not exist" };
  };
  const rules = 'rules:\n  - { id: floor, platform: iOS, minimum: "26.6" }\n';
  const anchors = (list: string, purpose: "validate" | "serve" = "validate") =>
    lines({ "enrollgate.yaml": `trustAnchors: [${list}]\n`, "a.yaml": rules }, { readFile, purpose });

  it("trust anchors that exist and hold certificates pass", () => {
    expect(anchors("apple, anchors/apple.pem")).toEqual([]);
  });

  it("a trust anchor missing from the policy directory is an error", () => {
    expect(anchors("anchors/aple.pem")).toEqual([
      "enrollgate.yaml:1:16 error trust-anchor-missing trust anchor anchors/aple.pem cannot be read: it does not exist; the gate will not load this policy set without it",
    ]);
  });

  it("a trust anchor missing elsewhere is a warning for validate (a secret mounted where the gate runs) and an error for the gate", () => {
    const warning =
      "enrollgate.yaml:1:16 warning trust-anchor-missing trust anchor /run/secrets/ca.pem cannot be read: it does not exist; the gate will not load this policy set without it";
    expect(anchors("/run/secrets/ca.pem")).toEqual([warning]);
    expect(anchors("/run/secrets/ca.pem", "serve")).toEqual([warning.replace("warning", "error")]);
  });

  it("a trust anchor without a certificate, or with one that cannot be read, is an error", () => {
    expect(anchors("anchors/key.pem, anchors/broken.pem")).toEqual([
      "enrollgate.yaml:1:16 error trust-anchor-invalid trust anchor anchors/key.pem holds no PEM certificate",
      expect.stringMatching(
        /^enrollgate\.yaml:1:33 error trust-anchor-invalid trust anchor anchors\/broken\.pem: certificate 1 cannot be read \(/,
      ),
    ]);
  });

  it("a missing beta token file is reported at the rule that names it", () => {
    const beta =
      'rules:\n  - id: seed\n    platform: iOS\n    minimum: "26.6"\n    betaProgram:\n      description: "iOS 27 Beta"\n      token: { file: tokens/ios27 }\n';
    expect(lines({ "a.yaml": beta }, { readFile })).toEqual([
      "a.yaml:7:22 warning beta-token-unset beta program token: token file tokens/ios27 cannot be read; the gate will refuse to serve until it is",
    ]);
  });
});
