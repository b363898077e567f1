// Option helpers shared by the commands.
import { Option } from "commander";

/** An option restricted to a closed set of values; commander reports anything else. */
export function choice(flags: string, description: string, values: readonly string[]): Option {
  return new Option(flags, description).choices(values);
}
