// `enrollgate/cli`: the command line as a function, for running a command
// in-process (a test, a wrapper, a build script) with its output, environment
// and working directory passed in. `enrollgate` the executable is this with
// the process's own.

export { run } from "./program.js";
export { EXIT, UsageError, processIO } from "./io.js";
export { GitSourceError } from "./git-source.js";
export type { CliIO, ExitCode } from "./io.js";
