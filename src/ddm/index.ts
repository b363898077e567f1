// `enrollgate/ddm`: enrolled devices under declarative device management,
// beside what the package root exports (ddmDeclarations, judgeStatus). The
// plan a compiled set's `enrolled` blocks make at an instant (which rule
// governs which device, the steps to its target), activation predicates as
// data (written in Apple's predicate format, or evaluated against a device's
// status values), the version and build patterns they use, and status
// reports merged per device.

export { planEnrolled, activationPredicate, governingRule, claimOrder, statusOfFacts, familyOf } from "./plan.js";
export type { Plan, PlannedRule, PlannedStep } from "./plan.js";
export { renderPredicate, evaluatePredicate, literal } from "./predicate.js";
export type { Predicate, StatusLookup } from "./predicate.js";
export {
  versionBelowPattern,
  versionEqualPattern,
  buildBelowPattern,
  extraFromPattern,
  extraPattern,
} from "./patterns.js";
export { STATUS_SUBSCRIPTIONS_ID, STATUS_SUBSCRIPTIONS_ACTIVATION_ID } from "./declarations.js";
export type { DdmStep, DdmRuleSummary } from "./declarations.js";
export { mergeStatusReports } from "./status.js";
export type { DeviceStatus, StatusProblem } from "./status.js";
export { DDM_JUDGEMENTS } from "./judge.js";
export type { UpdateFailure } from "./judge.js";
