// The base of every error enrollgate throws. Callers decide by `code`, a
// stable string (`usage`, `feed-unusable`, `adu-throttled`, a CMS
// verification code...), and by `category`, never by the class name or the
// message: messages are for people and may be reworded, and a class name
// cannot be checked without loading the module that defines it.

/**
 * `input`: the input (a file, a flag, a feed, a request) is at fault; the
 * message says what and where, and is all a user needs. `internal`: a bug,
 * or state enrollgate cannot explain; the stack matters.
 */
export type ErrorCategory = "input" | "internal";

/**
 * Every error enrollgate throws: a stable `code` and a `category` to decide
 * by; the message is for people.
 *
 * @example
 * import { hasErrorCode, isInputError } from "enrollgate";
 *
 * try {
 *   await gate.ready;
 * } catch (e) {
 *   if (hasErrorCode(e, "policy-set-invalid")) console.error(e.message); // names each error as file:line:col
 *   else if (!isInputError(e)) throw e; // a bug: keep the stack
 * }
 */
export abstract class EnrollgateError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly category: ErrorCategory = "input",
  ) {
    super(message);
  }
}

/** Something that cannot happen did: a bug. */
export class InternalError extends EnrollgateError<"internal"> {
  override readonly name = "InternalError";

  constructor(message: string) {
    super("internal", message, "internal");
  }
}

/** Whether `e` is an enrollgate error about its input (reported by its message alone). */
export function isInputError(e: unknown): e is EnrollgateError {
  return e instanceof EnrollgateError && e.category === "input";
}

/** Whether `e` is an enrollgate error with this code. */
export function hasErrorCode<Code extends string>(e: unknown, code: Code): e is EnrollgateError<Code> {
  return e instanceof EnrollgateError && e.code === code;
}
