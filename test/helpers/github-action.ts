// A composite GitHub Action run as the runner runs it, on this machine: each
// `run` step with bash (`bash --noprofile --norc -eo pipefail`, the runner's
// `shell: bash`), in its working directory, with the runner's environment
// (GITHUB_ACTIONS, GITHUB_ACTION_PATH, GITHUB_WORKSPACE, RUNNER_TEMP, and the
// GITHUB_PATH and GITHUB_OUTPUT files, read back after each step), `${{ }}`
// expressions substituted, and `if:` conditions evaluated. Only the
// expressions and the `uses:` actions the project's action.yml needs are
// known: anything else is an error, so the file cannot grow a step this does
// not perform. A `uses:` step is recorded with its inputs, not run (it would
// reach GitHub).
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { exec } from "./npm.js";

export interface ActionStep {
  readonly name: string;
  readonly id?: string;
  readonly if?: string;
  readonly shell?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly with?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly "working-directory"?: string;
}

export interface Action {
  readonly inputs: Record<string, { readonly default?: string; readonly required?: boolean }>;
  readonly outputs: Record<string, { readonly value: string }>;
  readonly runs: { readonly using: string; readonly steps: ReadonlyArray<ActionStep> };
}

export function parseAction(text: string): Action {
  return parse(text) as Action;
}

/** The `uses:` actions the runner here knows; they are recorded, never run. */
const RECORDED_ACTIONS = new Set(["github/codeql-action/upload-sarif@v3"]);

export interface StepResult {
  readonly name: string;
  readonly outcome: "success" | "failure" | "skipped";
  readonly stdout: string;
  readonly stderr: string;
  /** A `uses:` step's inputs, as the runner would pass them. */
  readonly with?: Record<string, string>;
}

export interface ActionRun {
  readonly steps: ReadonlyArray<StepResult>;
  readonly outputs: Record<string, string>;
  /** Directories earlier steps added to PATH (GITHUB_PATH), for a later run in the same job. */
  readonly path: ReadonlyArray<string>;
  step(name: string): StepResult;
}

export interface RunOptions {
  readonly actionPath: string;
  readonly workspace: string;
  readonly runnerTemp: string;
  readonly inputs: Record<string, string>;
  /** The job's environment (the runner's PATH, HOME, npm's settings...). */
  readonly env: Record<string, string>;
  /** Steps of an earlier run of the action in the same job whose results stand (by id): PATH additions carry over. */
  readonly earlier?: { readonly run: ActionRun; readonly reuse: ReadonlyArray<string> };
}

interface Context {
  inputs: Record<string, string>;
  steps: Record<string, { outcome: string; outputs: Record<string, string> }>;
  github: Record<string, string>;
  runner: Record<string, string>;
}

/** The value of an expression's operand: a context property, or a string literal. */
function value(text: string, ctx: Context): string {
  const t = text.trim();
  if (/^'([^']|'')*'$/.test(t)) return t.slice(1, -1).replaceAll("''", "'");
  const parts = t.split(".");
  if (parts[0] === "inputs" && parts.length === 2) {
    const v = ctx.inputs[parts[1] ?? ""];
    if (v === undefined) throw new Error(`action.yml names an input it does not declare: ${t}`);
    return v;
  }
  if ((parts[0] === "github" || parts[0] === "runner") && parts.length === 2) {
    const v = ctx[parts[0]][parts[1] ?? ""];
    if (v === undefined) throw new Error(`unknown context property ${t}`);
    return v;
  }
  if (parts[0] === "steps" && parts.length >= 3) {
    const step = ctx.steps[parts[1] ?? ""];
    if (parts[2] === "outcome" && parts.length === 3) return step?.outcome ?? "";
    if (parts[2] === "outputs" && parts.length === 4) return step?.outputs[parts[3] ?? ""] ?? "";
  }
  throw new Error(`an expression this runner does not know: ${t}`);
}

/** An `if:` condition: terms joined by `&&`, each a status function or `a == b` / `a != b`. */
function condition(text: string, ctx: Context, failed: boolean): boolean {
  const expr = text.replace(/^\$\{\{(.*)\}\}$/s, "$1").trim();
  if (/\|\||\(\s*[^)]/.test(expr.replace(/\w+\(\)/g, "")))
    throw new Error(`a condition this runner does not know: ${expr}`);
  const terms = expr.split("&&").map((t) => t.trim());
  let statusFunction = false;
  const results = terms.map((term) => {
    const negated = term.startsWith("!");
    const t = negated ? term.slice(1).trim() : term;
    let v: boolean;
    if (/^(success|failure|cancelled|always)\(\)$/.test(t)) {
      statusFunction = true;
      v = t === "always()" ? true : t === "cancelled()" ? false : t === "failure()" ? failed : !failed;
    } else {
      const m = /^(.+?)\s*(==|!=)\s*(.+)$/.exec(t);
      if (m === null) throw new Error(`a condition this runner does not know: ${t}`);
      const equal = value(m[1] ?? "", ctx) === value(m[3] ?? "", ctx);
      v = m[2] === "==" ? equal : !equal;
    }
    return negated ? !v : v;
  });
  // Without a status function, GitHub adds success().
  return results.every(Boolean) && (statusFunction || !failed);
}

/** A string with its `${{ expression }}`s substituted. */
function substitute(text: string, ctx: Context): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => value(e, ctx));
}

/** GITHUB_OUTPUT's `name=value` lines (the runner's multi-line form is not used here). */
function outputsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** Runs a composite action's steps; a failed step fails the run but later steps may still run (their `if:`). */
export async function runAction(action: Action, options: RunOptions): Promise<ActionRun> {
  if (action.runs.using !== "composite") throw new Error(`not a composite action: ${action.runs.using}`);
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) inputs[name] = spec.default ?? "";
  for (const [name, v] of Object.entries(options.inputs)) {
    if (!(name in action.inputs)) throw new Error(`the action has no input ${name}`);
    inputs[name] = v;
  }
  const ctx: Context = {
    inputs,
    steps: {},
    github: { action_path: options.actionPath, workspace: options.workspace },
    runner: { temp: options.runnerTemp },
  };
  const path: string[] = [...(options.earlier?.run.path ?? [])];
  const results: StepResult[] = [];
  let failed = false;
  for (const step of action.runs.steps) {
    const reused = options.earlier?.reuse.includes(step.id ?? "") === true;
    if (reused) {
      const before = options.earlier?.run.step(step.name);
      if (before === undefined) throw new Error(`no earlier result for ${step.name}`);
      ctx.steps[step.id ?? ""] = { outcome: before.outcome, outputs: {} };
      results.push(before);
      continue;
    }
    if (!condition(step.if ?? "success()", ctx, failed)) {
      if (step.id !== undefined) ctx.steps[step.id] = { outcome: "skipped", outputs: {} };
      results.push({ name: step.name, outcome: "skipped", stdout: "", stderr: "" });
      continue;
    }
    if (step.uses !== undefined) {
      if (!RECORDED_ACTIONS.has(step.uses)) throw new Error(`an action this runner does not know: ${step.uses}`);
      const withInputs = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, substitute(v, ctx)]));
      if (step.id !== undefined) ctx.steps[step.id] = { outcome: "success", outputs: {} };
      results.push({ name: step.name, outcome: "success", stdout: "", stderr: "", with: withInputs });
      continue;
    }
    if (step.shell !== "bash" || step.run === undefined)
      throw new Error(`${step.name}: a composite run step needs shell: bash`);
    const files = await mkdtemp(join(options.runnerTemp, "step-"));
    const script = join(files, "script.sh");
    const githubPath = join(files, "path");
    const githubOutput = join(files, "output");
    await writeFile(script, step.run);
    await Promise.all([writeFile(githubPath, ""), writeFile(githubOutput, "")]);
    const env: Record<string, string> = {
      ...options.env,
      PATH: [...path]
        .reverse()
        .concat(options.env.PATH ?? "")
        .join(":"),
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_ACTION_PATH: options.actionPath,
      GITHUB_WORKSPACE: options.workspace,
      RUNNER_TEMP: options.runnerTemp,
      GITHUB_PATH: githubPath,
      GITHUB_OUTPUT: githubOutput,
    };
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = substitute(v, ctx);
    const cwd = substitute(step["working-directory"] ?? "${{ github.workspace }}", ctx);
    const r = await exec("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], { cwd, env });
    const outcome = r.code === 0 ? "success" : "failure";
    if (outcome === "failure") failed = true;
    path.push(...(await readFile(githubPath, "utf8")).split("\n").filter((l) => l !== ""));
    if (step.id !== undefined) {
      ctx.steps[step.id] = { outcome, outputs: outputsOf(await readFile(githubOutput, "utf8")) };
    }
    results.push({ name: step.name, outcome, stdout: r.stdout, stderr: r.stderr });
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs).map(([k, o]) => [k, substitute(o.value, ctx)]));
  return {
    steps: results,
    outputs,
    path,
    step(name: string) {
      const s = results.find((r) => r.name === name);
      if (s === undefined) throw new Error(`no step ${name}`);
      return s;
    },
  };
}
