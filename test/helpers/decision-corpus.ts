// The decision corpus, test/corpus/decisions/*.yaml: policy sets and the
// decisions they must give, as data. Read here, once, and run through three
// harnesses that must each give exactly the expected decision: decide()
// (test/policy/decision-corpus.test.ts), `enrollgate check --json`
// (test/cli/decision-corpus.test.ts) and the HTTP gate, a real
// `enrollgate serve` (test/gate/decision-corpus.test.ts). The format is in
// test/corpus/README.md; a file that strays from it fails here, naming the
// file and the key, so no expectation is silently ignored.
import { readdirSync, readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { projectPath } from "./project.js";

const DIR = "test/corpus/decisions";

/**
 * What MachineInfo must carry whatever the case (UDID and SERIAL are required keys), unless the case says otherwise.
 */
export const IDENTITY = { udid: "00008120-0C0A0B0C0D0E0F10", serial: "C0RPUSDEV1CE" } as const;

/** A device as a corpus case describes it: the keys of a `*.test.yaml` case's facts. */
export interface CorpusFacts {
  readonly product: string;
  readonly osVersion?: string;
  /** VERSION: MachineInfo requires it, so every case has one. */
  readonly build: string;
  readonly serial: string;
  readonly udid: string;
  readonly deviceId?: string;
  readonly supplementalExtra?: string;
  readonly supplementalBuild?: string;
  readonly canUpdate: boolean;
}

export interface Expectation {
  readonly decision: "allow" | "block";
  readonly reason: string;
  readonly rule: string | null;
  /** The 403 body sent (block) or that would have been (audit-only); null otherwise. */
  readonly body: Readonly<Record<string, unknown>> | null;
}

export interface CorpusCase {
  readonly name: string;
  readonly facts: CorpusFacts;
  /**
   * The case's own instant, when its decision depends on it; such a case is not run through `serve`, which reads the
   * real clock.
   */
  readonly now: string | null;
  readonly expect: Expectation;
}

export interface CorpusSet {
  /** test/corpus/decisions/NAME.yaml */
  readonly file: string;
  readonly name: string;
  readonly rules: ReadonlyArray<unknown>;
  /** enrollgate.yaml, or null for none. */
  readonly settings: Readonly<Record<string, unknown>> | null;
  /** The environment beta tokens come from. */
  readonly env: Readonly<Record<string, string>>;
  /** A GDMF snapshot, as an absolute path; given to each harness as the operator's feed. */
  readonly gdmf: string | null;
  /** The instant for cases that name none: they decide the same at any instant. */
  readonly now: string;
  readonly cases: ReadonlyArray<CorpusCase>;
}

type Data = Record<string, unknown>;

function fail(where: string, problem: string): never {
  throw new Error(`${where}: ${problem} (the format is in test/corpus/README.md)`);
}

function object(value: unknown, where: string, keys: { required: string[]; optional: string[] }): Data {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, "expected a mapping");
  const data = value as Data;
  for (const k of Object.keys(data))
    if (!keys.required.includes(k) && !keys.optional.includes(k)) fail(`${where}.${k}`, "unknown key");
  for (const k of keys.required) if (!(k in data)) fail(`${where}.${k}`, "missing");
  return data;
}

function text(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") fail(where, "expected a non-empty string");
  return value;
}

function instant(value: unknown, where: string): string {
  const t = text(value, where);
  if (Number.isNaN(Date.parse(t))) fail(where, `${JSON.stringify(t)} is not a date`);
  return t;
}

const FACT_KEYS = [
  "product",
  "osVersion",
  "build",
  "serial",
  "udid",
  "deviceId",
  "supplementalExtra",
  "supplementalBuild",
  "canUpdate",
];

function facts(value: unknown, defaults: Data, where: string): CorpusFacts {
  const given: Data = {
    ...IDENTITY,
    canUpdate: true,
    ...defaults,
    ...object(value, where, { required: [], optional: FACT_KEYS }),
  };
  for (const [k, v] of Object.entries(given)) {
    if (k === "canUpdate" ? typeof v !== "boolean" : typeof v !== "string")
      fail(`${where}.${k}`, k === "canUpdate" ? "expected true or false" : "expected a string");
  }
  if (given.product === undefined) fail(`${where}.product`, "missing");
  if (given.build === undefined)
    fail(`${where}.build`, "missing (MachineInfo requires VERSION; or give `device: { build }` for the file)");
  return given as unknown as CorpusFacts;
}

function expectation(value: unknown, where: string): Expectation {
  const e = object(value, where, { required: ["decision", "reason", "rule"], optional: ["body"] });
  if (e.decision !== "allow" && e.decision !== "block") fail(`${where}.decision`, "expected allow or block");
  const rule = e.rule === null ? null : text(e.rule, `${where}.rule`);
  const hasBody = e.decision === "block" || e.reason === "audit-only";
  if (hasBody !== (e.body !== undefined && e.body !== null))
    fail(
      `${where}.body`,
      hasBody ? "a block or audit-only decision names its body" : "only a block or audit-only decision has a body",
    );
  const body = hasBody
    ? object(e.body, `${where}.body`, { required: ["code", "details"], optional: ["message", "description"] })
    : null;
  return { decision: e.decision, reason: text(e.reason, `${where}.reason`), rule, body };
}

function readSet(name: string): CorpusSet {
  const file = `${DIR}/${name}`;
  const data = object(parse(readFileSync(projectPath(file), "utf8")), file, {
    required: ["rules", "now", "cases"],
    optional: ["settings", "env", "gdmf", "device"],
  });
  if (!Array.isArray(data.rules)) fail(`${file}.rules`, "expected a list");
  if (!Array.isArray(data.cases) || data.cases.length === 0) fail(`${file}.cases`, "expected a list of cases");
  const env =
    data.env === undefined
      ? {}
      : object(data.env, `${file}.env`, { required: [], optional: Object.keys(data.env as Data) });
  for (const [k, v] of Object.entries(env)) text(v, `${file}.env.${k}`);
  const device =
    data.device === undefined ? {} : object(data.device, `${file}.device`, { required: [], optional: FACT_KEYS });
  const names = new Set<string>();
  const cases = data.cases.map((c: unknown, i: number): CorpusCase => {
    const where = `${file}.cases[${i}]`;
    const entry = object(c, where, { required: ["name", "facts", "expect"], optional: ["now"] });
    const caseName = text(entry.name, `${where}.name`);
    if (names.has(caseName)) fail(`${where}.name`, `${JSON.stringify(caseName)} is the name of an earlier case`);
    names.add(caseName);
    return {
      name: caseName,
      facts: facts(entry.facts, device, `${where}.facts`),
      now: entry.now === undefined ? null : instant(entry.now, `${where}.now`),
      expect: expectation(entry.expect, `${where}.expect`),
    };
  });
  return {
    file,
    name: name.replace(/\.yaml$/, ""),
    rules: data.rules,
    settings:
      data.settings === undefined
        ? null
        : object(data.settings, `${file}.settings`, { required: [], optional: Object.keys(data.settings as Data) }),
    env: env as Record<string, string>,
    gdmf: data.gdmf === undefined ? null : projectPath(DIR, text(data.gdmf, `${file}.gdmf`)),
    now: instant(data.now, `${file}.now`),
    cases,
  };
}

/** Every policy set of the corpus, in file name order. */
export function loadCorpus(): CorpusSet[] {
  return readdirSync(projectPath(DIR))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map(readSet);
}

/** The set's policy directory as files under `dir`: its rules, and enrollgate.yaml when it has settings. */
export function policyFiles(set: CorpusSet, dir: string): Record<string, string> {
  return {
    [`${dir}/rules.yaml`]: stringify({ rules: set.rules }),
    ...(set.settings !== null ? { [`${dir}/enrollgate.yaml`]: stringify(set.settings) } : {}),
  };
}

/** The instant a case is decided at by decide() and `check`. */
export function instantOf(set: CorpusSet, c: CorpusCase): string {
  return c.now ?? set.now;
}

/** The device as `check`'s fact flags. */
export function factFlags(f: CorpusFacts): string[] {
  const flag = (name: string, value: string | undefined) => (value === undefined ? [] : [name, value]);
  return [
    ...flag("--product", f.product),
    ...flag("--os-version", f.osVersion),
    ...flag("--build", f.build),
    ...flag("--serial", f.serial),
    ...flag("--udid", f.udid),
    ...flag("--device-id", f.deviceId),
    ...flag("--supplemental-extra", f.supplementalExtra),
    ...flag("--supplemental-build", f.supplementalBuild),
    "--can-update",
    String(f.canUpdate),
  ];
}

/** The device as MachineInfo, under Apple's keys: exactly the facts, nothing added. */
export function machineInfoOf(f: CorpusFacts): Record<string, string | boolean> {
  const keys: Array<[string, string | undefined]> = [
    ["UDID", f.udid],
    ["SERIAL", f.serial],
    ["PRODUCT", f.product],
    ["VERSION", f.build],
    ["OS_VERSION", f.osVersion],
    ["SOFTWARE_UPDATE_DEVICE_ID", f.deviceId],
    ["SUPPLEMENTAL_OS_VERSION_EXTRA", f.supplementalExtra],
    ["SUPPLEMENTAL_BUILD_VERSION", f.supplementalBuild],
  ];
  return {
    ...Object.fromEntries(keys.filter((k): k is [string, string] => k[1] !== undefined)),
    MDM_CAN_REQUEST_SOFTWARE_UPDATE: f.canUpdate,
  };
}
