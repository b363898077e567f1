// Option helpers shared by the commands.
import { Option, type Command } from "commander";

/** An option restricted to a closed set of values; commander reports anything else. */
export function choice(flags: string, description: string, values: readonly string[]): Option {
  return new Option(flags, description).choices(values);
}

/** Collects a repeatable option's values. */
export function repeatable(value: string, all: string[] = []): string[] {
  return [...all, value];
}

/**
 * `--secrets-dir DIR`, repeatable: where token files (and trust anchors) a policy names may be, besides the policy
 * directory.
 */
export function addSecretsDirOption<C extends Command>(command: C): C {
  command.option(
    "--secrets-dir <dir>",
    "a directory beta token files, trust anchors and TLS files named in the policies may be in, besides the policy directory (where Kubernetes or systemd mount secrets); repeatable",
    repeatable,
  );
  return command;
}
