// Generated policy sets as compile() input, in memory.
import type { PolicySetSource } from "enrollgate";
import { generatePolicySet, type GeneratedPolicySet } from "../../support/policy-sets.js";

export function generatedSource(
  rules: number,
  files: number,
): { source: PolicySetSource; generated: GeneratedPolicySet } {
  const generated = generatePolicySet({ rules, files });
  return {
    generated,
    source: {
      dir: "/bench",
      files: Object.entries(generated.files).map(([name, text]) => ({
        path: name,
        relative: name,
        kind: "rules" as const,
        text,
      })),
    },
  };
}
