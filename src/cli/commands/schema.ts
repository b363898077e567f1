// `enrollgate schema FILE`: prints the JSON Schema of an Apple-format YAML file.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { isPlatform } from "../../apple/platform.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { choice } from "../options.js";

interface SchemaOptions {
  platform?: string;
  os?: string;
  direction: "emit" | "receive";
  keys?: "payload" | "response";
}

export function registerSchema(program: Command, io: CliIO, exit: (code: ExitCode) => void): void {
  program
    .command("schema")
    .description("print the JSON Schema (2020-12) of an Apple device-management YAML file")
    .argument("<file>", "a file in Apple's YAML schema format (payloadkeys or responsekeys)")
    .option("--platform <platform>", "prune to a platform: iOS, iPadOS, macOS, tvOS, visionOS, watchOS")
    .option("--os <version>", "prune to an OS version of --platform, e.g. 17.5")
    .addOption(
      choice(
        "--direction <direction>",
        "emit: documents we send (unknown keys forbidden); receive: documents devices send",
        ["emit", "receive"],
      ).default("emit"),
    )
    .addOption(
      choice("--keys <list>", "payloadkeys or responsekeys (default: payloadkeys when present)", [
        "payload",
        "response",
      ]),
    )
    .action(async (file: string, options: SchemaOptions) => {
      if (options.platform !== undefined && !isPlatform(options.platform)) {
        throw new UsageError(
          `unknown platform "${options.platform}" (expected iOS, iPadOS, macOS, tvOS, visionOS or watchOS)`,
        );
      }
      if (options.os !== undefined && options.platform === undefined) throw new UsageError("--os needs --platform");
      const path = resolve(io.cwd, file);
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const [{ parseAppleSchema }, { compileAppleSchema }] = await Promise.all([
        import("../../apple/schema/document.js"),
        import("../../apple/schema/validator.js"),
      ]);
      const doc = parseAppleSchema(text, file);
      const compiled = compileAppleSchema(doc, {
        direction: options.direction,
        ...(options.platform !== undefined && isPlatform(options.platform) ? { platform: options.platform } : {}),
        ...(options.os !== undefined ? { os: options.os } : {}),
        ...(options.keys !== undefined ? { keys: options.keys } : {}),
      });
      if (!compiled.applicable) {
        io.stderr(`${compiled.reason}\n`);
        exit(EXIT.failed);
        return;
      }
      io.stdout(`${JSON.stringify(compiled.schema, null, 2)}\n`);
      exit(EXIT.ok);
    });
}
