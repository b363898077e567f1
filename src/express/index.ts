// `enrollgate/express`: types only. Importing it types res.locals.enrollgate
// in Express 4 and 5 (both read `Express.Locals`, which this merges into):
//
//   import "enrollgate/express";
//
// The property is optional because a handler the gate did not run before has
// none; gateOutcome(res), in the package root, returns it or throws.
import type { GateOutcome } from "../gate/middleware.js";

declare global {
  // Express's own extension point for res.locals (the namespace its types declare).
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** What enrollmentGate() decided on this request; absent where the gate did not run. */
      enrollgate?: GateOutcome;
    }
  }
}

export {};
