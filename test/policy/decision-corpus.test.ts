// The decision corpus (test/corpus/decisions/) through decide(), as a library
// calls it: each policy set read from a directory with loadPolicySet(),
// compiled with the corpus feed, and each case decided at its instant. The
// same cases run through `enrollgate check` (test/cli/decision-corpus.test.ts)
// and the HTTP gate (test/gate/decision-corpus.test.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  assertCompiled,
  compile,
  type CompiledPolicySet,
  decide,
  type Decision,
  type DeviceFacts,
  loadPolicySet,
} from "enrollgate";
import { feedAvailability, parseGdmf } from "enrollgate/feeds";
import { type CorpusFacts, instantOf, loadCorpus, policyFiles } from "../helpers/decision-corpus.js";
import { tempDir } from "../helpers/tmp.js";

function deviceFacts({ canUpdate, ...rest }: CorpusFacts): DeviceFacts {
  return { ...rest, canRequestUpdate: canUpdate };
}

const seen = ({ decision, reason, rule, body }: Decision) => ({ decision, reason, rule, body });

for (const set of loadCorpus())
  describe(set.file, () => {
    let compiled: CompiledPolicySet;

    beforeAll(async () => {
      const dir = await tempDir(policyFiles(set, "p"));
      const source = await loadPolicySet(join(dir, "p"));
      const feeds =
        set.gdmf === null
          ? {}
          : { availability: feedAvailability({ gdmf: parseGdmf(readFileSync(set.gdmf, "utf8"), set.gdmf) }) };
      compiled = assertCompiled(compile(source, { env: set.env, now: Date.parse(set.now), ...feeds }), set.file);
    });

    for (const c of set.cases) {
      it(c.name, () => {
        const facts = deviceFacts(c.facts);
        expect(seen(decide(compiled, facts, Date.parse(instantOf(set, c))))).toEqual(c.expect);
        // The gate harness decides a case that names no instant on the real clock.
        if (c.now === null)
          expect(seen(decide(compiled, facts, Date.now())), "on today's clock: give this case its own `now`").toEqual(
            c.expect,
          );
      });
    }
  });
