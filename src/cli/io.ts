// What a CLI command may touch: its output streams, environment and working
// directory, passed in so commands run the same in-process and as the bin.
import { EnrollgateError } from "../errors.js";

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Exit codes: DESIGN.md's CLI contract. */
export const EXIT = {
  ok: 0,
  /** findings, a blocked device, failed tests, a payload that does not apply */
  failed: 1,
  /** bad usage or an internal error */
  usage: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem with how the command was called: reported on stderr, exit 2. */
export class UsageError extends EnrollgateError<"usage"> {
  override readonly name = "UsageError";

  constructor(message: string) {
    super("usage", message);
  }
}

export function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}
