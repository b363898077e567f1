// The decision the gate leaves for the handlers after it, read with its type:
// res.locals is `Record<string, any>` in Express's types (4 and 5), so a
// handler that reads res.locals.enrollgate directly gets `any`.
import { EnrollgateError } from "../errors.js";
import type { GateOutcome } from "./middleware.js";

/** A handler asked for the gate's decision on a request the gate did not decide on. */
export class GateNotRunError extends EnrollgateError<"gate-not-run"> {
  override readonly name = "GateNotRunError";

  constructor() {
    super(
      "gate-not-run",
      "res.locals.enrollgate is not set: mount enrollmentGate() before this handler, on the same path",
      "internal",
    );
  }
}

/**
 * The gate's decision on this request (what enrollmentGate() left at
 * `res.locals.enrollgate`), typed, in Express 4 or 5 or plain Node http.
 * Throws a GateNotRunError (code `gate-not-run`) when the gate did not run
 * before this handler: a mistake in the app's routing, never the device's.
 *
 * @example
 * import { enrollmentGate, gateOutcome } from "enrollgate";
 *
 * app.use("/mdm/enroll", enrollmentGate({ policies: "policies" }), (req, res) => {
 *   const { decision, facts } = gateOutcome(res); // a GateOutcome; facts is null without MachineInfo
 *   res.json({ decision: decision.decision, serial: facts?.serial ?? null });
 * });
 */
export function gateOutcome(res: { readonly locals?: object }): GateOutcome {
  const outcome = (res.locals as { readonly enrollgate?: unknown } | undefined)?.enrollgate;
  if (typeof outcome !== "object" || outcome === null) throw new GateNotRunError();
  return outcome as GateOutcome;
}
