// A policy set with `enrolled` blocks on every platform DDM enforces, and a
// hand-built GDMF feed that offers their targets, for the ddm tests.
import type { CompiledPolicySet } from "enrollgate";
import { feedAvailability, parseGdmf } from "enrollgate/feeds";
import { mustCompile } from "../helpers/policies.js";

const IPHONES = ["iPhone17,1", "iPhone17,2", "iPhone17,3", "iPhone17,4", "iPhone18,1", "iPhone18,4"];
const IPADS = ["iPad16,1", "iPad16,2"];

/** Apple's feed as a device sees it on 2026-08-25: a supplemental for iPads on top of 26.3.1. */
export const GDMF = {
  PublicAssetSets: {
    iOS: [
      {
        ProductVersion: "26.6.1",
        Build: "23G83",
        PostingDate: "2026-08-17",
        ExpirationDate: "2026-11-20",
        SupportedDevices: [...IPHONES, ...IPADS],
      },
      {
        ProductVersion: "26.3.1",
        Build: "23D8133",
        PostingDate: "2026-03-03",
        ExpirationDate: "2026-11-20",
        SupportedDevices: IPADS,
      },
    ],
    macOS: [
      {
        ProductVersion: "26.6.2",
        Build: "25G83",
        PostingDate: "2026-08-17",
        ExpirationDate: "2026-11-20",
        SupportedDevices: ["J475cAP", "J475dAP", "J604AP"],
      },
    ],
    visionOS: [
      {
        ProductVersion: "26.6.1",
        Build: "23O780",
        PostingDate: "2026-08-17",
        ExpirationDate: "2026-11-20",
        SupportedDevices: ["RealityDevice14,1", "RealityDevice17,1"],
      },
    ],
  },
  PublicBackgroundSecurityImprovements: {
    iOS: [
      {
        ProductVersion: "26.3.1",
        ProductVersionExtra: "(a)",
        Build: "23D771330a",
        PrerequisiteBuild: "23D8133",
        PostingDate: "2026-03-17",
        ExpirationDate: "2026-11-20",
        SupportedDevices: IPADS,
      },
    ],
  },
};

export const RULES = `
rules:
  - id: iphone-floor
    platform: iOS
    models: ["iPhone17,*", "iPhone18,*"]
    minimum: "26.6.1"
    enrolled:
      deadline: 2026-12-15T18:00:00
      detailsURL: https://it.example.com/updates
  - id: ipad-bsi
    platform: iPadOS
    models: ["iPad16,*"]
    minimum: "26.3.1"
    enrolled:
      target: "26.3.1 (a)"
      deadline: { daysAfterRelease: 14, at: "18:00" }
  - id: mac-studio
    platform: macOS
    models: ["J475cAP", "J475dAP"]
    minimum: "26.6.2"
    minimumBuild: "25G83"
    enrolled:
      targetBuild: "25G83"
      deadline: { daysAfterRelease: 7, at: "09:00" }
  - id: mac-floor
    platform: macOS
    minimum: "26.6.2"
    enrolled:
      deadline: 2026-09-01T09:00:00
  - id: vision-floor
    platform: visionOS
    models: ["RealityDevice*"]
    minimum: "26.6.1"
    enrolled:
      deadline: 2026-12-20T09:00:00
  - id: qa-seed
    platform: iOS
    models: ["iPhone18,4"]
    minimum: "27.0"
    targetBuild: "24A5264n"
    betaProgram:
      description: "iOS 27 AppleSeed for IT"
      token: { env: QA_BETA_TOKEN }
    enrolled:
      deadline: 2026-12-15T18:00:00
`;

export const NOW = Date.parse("2026-08-25T12:00:00Z");

export function fleetSet(rules = RULES, env: Record<string, string> = { QA_BETA_TOKEN: "seed-token-1" }) {
  return mustCompile(
    { "rules.yaml": rules },
    { env, now: NOW, availability: feedAvailability({ gdmf: parseGdmf(JSON.stringify(GDMF)) }) },
  ) satisfies CompiledPolicySet;
}
