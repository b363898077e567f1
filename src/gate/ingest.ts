// Ingesting MachineInfo: from the bytes a request carried to the facts
// decide() takes, or the error to answer with. Apple's layer reads and
// verifies the message (apple/machine-info.ts), the policy layer says what
// its keys mean (policy/facts.ts), and the gate picks the answer.
import {
  readMachineInfo,
  type MachineInfo,
  type MachineInfoOptions,
  type MachineInfoProblem,
  type VerificationOutcome,
} from "../apple/machine-info.js";
import type { VerificationCode } from "../apple/verification-codes.js";
import { factsOfMachineInfo } from "../policy/facts.js";
import type { DeviceFacts } from "../policy/model.js";
import { statusOf, type Rejection, type RejectionCode } from "./rejections.js";

/** The JSON error for each way MachineInfo is refused. */
const REJECTION_OF = {
  "bad-cms": "bad-cms",
  "bad-plist": "bad-plist",
  "invalid-machine-info": "invalid-machine-info",
  unverified: "unverified-machine-info",
} as const satisfies Record<MachineInfoProblem, RejectionCode>;

export type MachineInfoRejection = (typeof REJECTION_OF)[MachineInfoProblem];

export type MachineInfoResult =
  | {
      readonly ok: true;
      readonly facts: DeviceFacts;
      readonly verification: VerificationOutcome;
      readonly machineInfo: MachineInfo;
    }
  | {
      readonly ok: false;
      /** 400: malformed; 403: well-formed but not verified under enforce. */
      readonly status: Rejection["status"];
      readonly code: MachineInfoRejection;
      readonly message: string;
      /** Why the message was refused, as a stable code (for bad-cms and unverified-machine-info). */
      readonly failure?: VerificationCode;
    };

/** From the CMS bytes a device sent to its facts, or the error to answer with. */
export function ingestMachineInfo(der: Uint8Array, options: MachineInfoOptions): MachineInfoResult {
  const read = readMachineInfo(der, options);
  if (!read.ok) {
    const code = REJECTION_OF[read.problem];
    return {
      ok: false,
      status: statusOf(code),
      code,
      message: read.message,
      ...(read.failure !== undefined ? { failure: read.failure } : {}),
    };
  }
  return {
    ok: true,
    facts: factsOfMachineInfo(read.machineInfo),
    verification: read.verification,
    machineInfo: read.machineInfo,
  };
}
