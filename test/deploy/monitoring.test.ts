// deploy/prometheus/alerts.yaml and deploy/grafana/enrollgate.json, checked
// against a running gate: every PromQL expression is parsed with Prometheus's
// own grammar (@prometheus-io/lezer-promql), and each metric it names must be
// in the gate's /metrics with samples, each label it matches on must be a
// label of that metric's samples, and each label it groups by must be one of
// the metrics' labels or one Prometheus adds to every scraped series. The
// gate runs with an unreachable upstream and gets a few requests and a policy
// change first, so that every labelled metric has samples to read.
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { eventually } from "../helpers/http.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { projectPath, readProject } from "../helpers/project.js";
import { tempDir } from "../helpers/tmp.js";

/** Labels Prometheus attaches to every series it scrapes (the target's). */
const TARGET_LABELS = new Set(["instance", "job"]);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: Record<string, string>;
}
const ALERTS = (
  parse(readProject("deploy/prometheus/alerts.yaml")) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; query: string | { query: string } }> };
}
const DASHBOARD = JSON.parse(readProject("deploy/grafana/enrollgate.json")) as Dashboard;

/** A Grafana query as Prometheus receives it: its variables replaced by what Grafana sends. */
function grafanaToPromQL(expr: string): string {
  return expr.replaceAll("$__rate_interval", "5m").replaceAll("$__interval", "1m").replaceAll("$instance", ".*");
}

/** /metrics as series: each metric's sample names with the label names of their samples. */
function seriesOf(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s/.exec(line);
    if (m === null) continue;
    const labels = series.get(m[1] ?? "") ?? new Set<string>();
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1] ?? "");
    series.set(m[1] ?? "", labels);
  }
  return series;
}

/** What is wrong with a PromQL expression, read against the series a gate serves: nothing, or each problem. */
function promqlProblems(expr: string, series: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const tree = parser.parse(expr);
  const named: string[] = [];
  const grouping: string[] = [];
  tree.iterate({
    enter(node) {
      const text = expr.slice(node.from, node.to);
      if (node.type.isError) problems.push(`does not parse at ${node.from}: ${expr.slice(node.from, node.from + 20)}`);
      if (node.name === "VectorSelector") {
        const name = node.node.getChild("Identifier");
        const metric = name === null ? "" : expr.slice(name.from, name.to);
        named.push(metric);
        const labels = series.get(metric);
        if (labels === undefined) {
          problems.push(`${metric}: not in the gate's /metrics`);
          return false;
        }
        for (const matcher of node.node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []) {
          const label = matcher.getChild("LabelName");
          const l = label === null ? "" : expr.slice(label.from, label.to);
          if (!labels.has(l) && !TARGET_LABELS.has(l)) problems.push(`${metric}: has no label ${l}`);
        }
        return false;
      }
      if (node.name === "LabelName") grouping.push(text);
      return undefined;
    },
  });
  if (named.length === 0) problems.push("names no metric");
  const known = new Set([...TARGET_LABELS, ...named.flatMap((m) => [...(series.get(m) ?? [])])]);
  for (const l of grouping) if (!known.has(l)) problems.push(`groups by ${l}, a label none of its metrics has`);
  return problems;
}

let gate: Running;
let dir: string;
const ports = { main: 0, admin: 0 };
let series: Map<string, Set<string>>;

const metricsText = async () => (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();

beforeAll(async () => {
  dir = await tempDir();
  await cp(projectPath("policies"), join(dir, "policies"), { recursive: true });
  ports.main = await freePort();
  ports.admin = await freePort();
  const closed = await freePort();
  gate = run(
    process.execPath,
    [
      BIN,
      "serve",
      "--policies",
      "policies",
      "--host",
      "127.0.0.1",
      "--port",
      String(ports.main),
      "--admin-port",
      String(ports.admin),
      "--upstream",
      `http://127.0.0.1:${closed}`,
    ],
    { cwd: dir, env: { IOS27_BETA_TOKEN: "t" } },
  );
  await listening(gate);
  const url = `http://127.0.0.1:${ports.main}`;
  // A request without MachineInfo: a decision (allow), then an upstream error (502).
  expect((await fetch(`${url}/mdm/enroll`)).status).toBe(502);
  // A MachineInfo that is not CMS: a rejection.
  const bad = await fetch(`${url}/mdm/enroll`, {
    method: "POST",
    headers: { "content-type": "application/pkcs7-signature" },
    body: "not a signature",
  });
  expect(bad.status).toBe(400);
  // A policy change that lowers a minimum: a reload and a weakening.
  const mac = join(dir, "policies", "mac.yaml");
  await writeFile(mac, (await readFile(mac, "utf8")).replace(/minimum: "26\.[0-9.]+"/, 'minimum: "15.0"'));
  await eventually(
    async () => /^enrollgate_policy_weakenings_total\{/m.test(await metricsText()),
    "a weakening reload",
    15_000,
  );
  series = seriesOf(await metricsText());
}, 60_000);

afterAll(async () => {
  gate.child.kill("SIGTERM");
  await gate.exited;
});

describe("the check of an expression", () => {
  it("accepts an expression on the gate's metrics and refuses what the gate does not serve", () => {
    expect(promqlProblems('sum by (code) (rate(enrollgate_rejections_total{status="400"}[5m]))', series)).toEqual([]);
    expect(promqlProblems("rate(enrollgate_requests_total[5m]) > 0", series)).toEqual([
      "enrollgate_requests_total: not in the gate's /metrics",
    ]);
    expect(promqlProblems('enrollgate_decisions_total{verdict="block"}', series)).toEqual([
      "enrollgate_decisions_total: has no label verdict",
    ]);
    expect(promqlProblems("sum by (tenant) (enrollgate_ready)", series)).toEqual([
      "groups by tenant, a label none of its metrics has",
    ]);
    expect(promqlProblems("rate(enrollgate_ready[5m) > 0", series)[0]).toMatch(/^does not parse/);
  });
});

describe("deploy/prometheus/alerts.yaml", () => {
  it("alerts on readiness, reload failures, feed failures, 5xx and rejection rates, latency", () => {
    const metricsOf = (r: Rule) => r.expr.match(/enrollgate_[a-z_]+/g) ?? [];
    const covered = new Set(ALERTS.flatMap(metricsOf));
    for (const m of [
      "enrollgate_ready",
      "enrollgate_policy_reload_failures_total",
      "enrollgate_feed_refresh_failures_total",
      "enrollgate_upstream_errors_total",
      "enrollgate_rejections_total",
      "enrollgate_decision_duration_seconds_bucket",
    ]) {
      expect(covered, m).toContain(m);
    }
    for (const r of ALERTS) {
      expect(r.alert).toMatch(/^Enrollgate[A-Z]\w+$/);
      expect(["critical", "warning", "info"]).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
    }
  });

  it.each(ALERTS.map((r) => [r.alert, r] as const))("%s names only metrics and labels the gate serves", (_, r) => {
    expect(promqlProblems(r.expr, series)).toEqual([]);
    // The labels its annotations print are ones its expression keeps.
    const known = new Set([
      ...TARGET_LABELS,
      ...[...r.expr.matchAll(/enrollgate_\w+/g)].flatMap((m) => [...(series.get(m[0]) ?? [])]),
    ]);
    for (const text of Object.values(r.annotations)) {
      for (const l of text.matchAll(/\$labels\.(\w+)/g)) expect(known, `${r.alert}: $labels.${l[1]}`).toContain(l[1]);
    }
  });
});

describe("deploy/grafana/enrollgate.json", () => {
  const targets = DASHBOARD.panels.flatMap((p) => p.targets.map((t, i) => [`${p.title} #${i + 1}`, t.expr] as const));

  it("charts the metrics the alerts watch", () => {
    const charted = new Set(targets.flatMap(([, e]) => e.match(/enrollgate_[a-z_]+/g) ?? []));
    for (const m of new Set(ALERTS.flatMap((r) => r.expr.match(/enrollgate_[a-z_]+/g) ?? []))) {
      expect(charted, m).toContain(m);
    }
  });

  it.each(targets)("%s names only metrics and labels the gate serves", (_, expr) => {
    expect(promqlProblems(grafanaToPromQL(expr), series)).toEqual([]);
  });

  it("lists replicas from a metric every gate serves", () => {
    const instance = DASHBOARD.templating.list.find((v) => v.name === "instance");
    const query = typeof instance?.query === "string" ? instance.query : (instance?.query.query ?? "");
    const metric = /^label_values\((\w+), instance\)$/.exec(query)?.[1] ?? "";
    expect(series.has(metric), query).toBe(true);
  });
});
