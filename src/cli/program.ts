// The enrollgate command line: one file per command under ./commands. Each
// command loads what it needs when it runs, so `--help` or `validate` does
// not pay for the server, the crypto or the XML stack.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { packageFile } from "../paths.js";
import { isInputError } from "../errors.js";
import { findingsDocsUrl, type PackageManifest } from "../report/docs-url.js";
import { EXIT, type CliIO, type ExitCode } from "./io.js";
import { registerAdu } from "./commands/adu.js";
import { registerCheck } from "./commands/check.js";
import { registerCoverage } from "./commands/coverage.js";
import { registerDdm } from "./commands/ddm.js";
import { registerDiff } from "./commands/diff.js";
import { registerGdmf } from "./commands/gdmf.js";
import { registerOsUpdateStatus } from "./commands/os-update-status.js";
import { registerSchema } from "./commands/schema.js";
import { registerServe } from "./commands/serve.js";
import { registerTest } from "./commands/test.js";
import { registerValidate } from "./commands/validate.js";

function packageManifest(): PackageManifest {
  return JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as PackageManifest;
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const exit = (c: ExitCode) => {
    code = c;
  };
  const manifest = packageManifest();
  const version = manifest.version;
  const program = new Command("enrollgate")
    .description("Policy-as-code gate for Apple Automated Device Enrollment")
    .version(version, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerValidate(program, io, exit, version, findingsDocsUrl(manifest));
  registerTest(program, io, exit);
  registerCheck(program, io, exit, version);
  registerCoverage(program, io, exit, version);
  registerDiff(program, io, exit, version);
  registerServe(program, io, exit);
  registerGdmf(program, io, exit);
  registerAdu(program, io, exit);
  registerDdm(program, io, exit, version);
  registerOsUpdateStatus(program, io, exit);
  registerSchema(program, io, exit);
  const configure = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isInputError(e)) {
      io.stderr(`enrollgate: ${e.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`enrollgate: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.usage;
  }
}
