// The decision corpus (test/corpus/decisions/) through the HTTP gate: one
// real `enrollgate serve` per policy set, verifying against a throwaway CA
// (--trust-anchor) with the corpus feed as --gdmf, and each case's device as
// MachineInfo signed in the test and POSTed as a profile request's body. What
// the device gets (a 403 and its body, or the 200 and decision that serve
// answers without an upstream) and the gate's decision log line (decision,
// reason, rule) must be the expectation, as decide()'s and check's must be.
// serve reads the real clock (it has no --now, and a way to set a public
// gate's clock is not worth adding for tests), so a case that pins its
// instant is left to those two; every other case decides the same at any
// instant, which the decide() harness checks against today's clock.
import { build as buildPlist, parse as parsePlist } from "plist";
import { afterAll, beforeAll, describe, it } from "vitest";
import { createCA, createIdentity, signCms, type Identity } from "../../support/signing.js";
import { type CorpusSet, loadCorpus, machineInfoOf, policyFiles } from "../helpers/decision-corpus.js";
import { spawnGate, type GateProcess } from "../helpers/gate-process.js";
import { eventually } from "../helpers/http.js";

// A case that pins its instant is decide()'s and check's alone.
const corpus = loadCorpus()
  .map((set) => ({ ...set, cases: set.cases.filter((c) => c.now === null) }))
  .filter((set) => set.cases.length > 0);
const gates = new Map<CorpusSet, GateProcess>();
let device: Identity;

beforeAll(async () => {
  const ca = await createCA();
  device = await createIdentity(ca, { kind: "ecdsa" });
  await Promise.all(
    corpus.map(async (set) => {
      const feeds = set.gdmf === null ? [] : ["--gdmf", set.gdmf];
      gates.set(
        set,
        await spawnGate(
          { ...policyFiles(set, "p"), "ca.pem": ca.pem },
          ["--verify", "enforce", "--trust-anchor", "ca.pem", ...feeds],
          { ...set.env },
        ),
      );
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([...gates.values()].map((g) => g.stop()));
});

/** The body as the device reads it, by its Content-Type. */
function bodyOf(contentType: string, text: string): unknown {
  return contentType.startsWith("application/xml") ? parsePlist(text) : JSON.parse(text);
}

for (const set of corpus)
  describe(set.file, () => {
    for (const c of set.cases) {
      it.concurrent(c.name, async ({ expect }) => {
        const gate = gates.get(set);
        if (gate === undefined) throw new Error(`no gate for ${set.file}`);
        const machineInfo = await signCms(buildPlist(machineInfoOf(c.facts)), device);
        const res = await fetch(`${gate.url}/mdm/enroll`, {
          method: "POST",
          body: machineInfo,
          headers: { "content-type": "application/pkcs7-signature" },
        });
        const text = await res.text();
        expect(res.status, text).toBe(c.expect.decision === "block" ? 403 : 200);
        const answer = bodyOf(res.headers.get("content-type") ?? "", text);
        if (c.expect.decision === "block") expect(answer).toEqual(c.expect.body);
        else
          expect(answer).toMatchObject({ decision: c.expect.decision, reason: c.expect.reason, rule: c.expect.rule });

        // The decision log line of this request: what the gate decided, and that it verified the device.
        const id = res.headers.get("x-enrollgate-decision-id") ?? (answer as { decisionId?: string }).decisionId;
        const logged = () => gate.running.lines.find((l) => l.event === "decision" && l.decisionId === id);
        await eventually(() => logged() !== undefined, `the decision line for ${String(id)}`);
        expect(logged()).toMatchObject({
          decision: c.expect.decision,
          reason: c.expect.reason,
          rule: c.expect.rule,
          verification: "verified",
          source: "body",
        });
      });
    }
  });
