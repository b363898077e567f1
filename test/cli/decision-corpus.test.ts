// The decision corpus (test/corpus/decisions/) through the real
// `enrollgate check --json`: the device as fact flags, the instant as --now,
// the corpus feed as --gdmf. What it prints (decision, reason, rule, and the
// 403 body, its beta token as <redacted>) and its exit code (1 when blocked)
// must be the expectation, as decide()'s and the gate's must be.
import { beforeAll, describe, it } from "vitest";
import { enrollgate } from "../helpers/cli.js";
import { type Expectation, factFlags, instantOf, loadCorpus, policyFiles } from "../helpers/decision-corpus.js";
import { tempDir } from "../helpers/tmp.js";

interface CheckJson {
  readonly decision: string;
  readonly reason: string;
  readonly rule: string | null;
  readonly response: { readonly status: number; readonly contentType: string; readonly body: unknown } | null;
}

/** What check prints for a body: it never prints a beta token. */
function printed(body: Expectation["body"]): unknown {
  if (body === null) return null;
  const details = body.details as { RequireBetaProgram?: { Description: string; Token: string } };
  return details.RequireBetaProgram === undefined
    ? body
    : { ...body, details: { ...details, RequireBetaProgram: { ...details.RequireBetaProgram, Token: "<redacted>" } } };
}

for (const set of loadCorpus())
  describe(set.file, () => {
    let dir: string;

    beforeAll(async () => {
      dir = await tempDir(policyFiles(set, "p"));
    });

    // Up to vitest's maxConcurrency (5) processes at a time.
    for (const c of set.cases) {
      it.concurrent(c.name, async ({ expect }) => {
        const feeds = set.gdmf === null ? [] : ["--gdmf", set.gdmf];
        const r = await enrollgate(
          ["check", "--policies", "p", "--json", "--now", instantOf(set, c), ...feeds, ...factFlags(c.facts)],
          { cwd: dir, env: set.env },
        );
        expect(r.stderr).toBe("");
        const out = JSON.parse(r.stdout) as CheckJson;
        expect({
          decision: out.decision,
          reason: out.reason,
          rule: out.rule,
          body: out.response?.body ?? null,
        }).toEqual({ ...c.expect, body: printed(c.expect.body) });
        if (out.response !== null) expect(out.response.status).toBe(403);
        expect(r.code).toBe(c.expect.decision === "block" ? 1 : 0);
      });
    }
  });
