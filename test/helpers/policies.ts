// Policy sets from in-memory files, compiled with the real compiler.
import {
  compile,
  type CompiledPolicySet,
  type CompileOptions,
  type CompileResult,
  formatReport,
  type PolicySetSource,
} from "enrollgate";
import type { FileKind } from "enrollgate/policy";
import { stringify } from "yaml";

function kindOf(name: string): FileKind {
  if (name === "enrollgate.yaml") return "settings";
  return /\.test\.ya?ml$/.test(name) ? "tests" : "rules";
}

export function sourceOf(files: Record<string, string>, dir = "/policies"): PolicySetSource {
  return {
    dir,
    files: Object.entries(files).map(([name, text]) => ({ path: name, relative: name, kind: kindOf(name), text })),
  };
}

export function compileFiles(files: Record<string, string>, options: CompileOptions = {}): CompileResult {
  return compile(sourceOf(files), options);
}

/** Compiles or fails the test with the findings. */
export function mustCompile(files: Record<string, string>, options: CompileOptions = {}): CompiledPolicySet {
  const result = compileFiles(files, options);
  if (result.set === null) {
    throw new Error(
      `policies did not compile:\n${formatReport("text", { findings: result.findings, files: [], version: "test" })}`,
    );
  }
  return result.set;
}

/** A rule file from plain objects (the yaml library quotes version strings). */
export function ruleFile(...rules: Array<Record<string, unknown>>): string {
  return stringify({ rules });
}
