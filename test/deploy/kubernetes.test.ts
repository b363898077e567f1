// deploy/kubernetes/, checked two ways. Against the Kubernetes API: every
// manifest validated with the API's own schemas (kubernetes-models ships them,
// see test/helpers/kubernetes.ts), and compiled against its kind's declared
// type so that an unknown field fails as kubectl's strict validation would.
// And against the gate: the Deployment's container arguments run as a real
// `enrollgate serve`, with the ConfigMap's files and the Secret's where the
// volumes mount them, and its probes are asked what the kubelet would ask.
import { readdirSync } from "node:fs";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifests, schemaErrors, typeErrors, type Manifest } from "../helpers/kubernetes.js";
import { eventually } from "../helpers/http.js";
import { freePort, listening, run, type Running } from "../helpers/processes.js";
import { projectPath, readProject } from "../helpers/project.js";
import { tempDir, writeFiles } from "../helpers/tmp.js";

const DIR = "deploy/kubernetes";
const FILES = readdirSync(projectPath(DIR))
  .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
  .sort();
const MANIFESTS = FILES.flatMap((file) =>
  readManifests(readProject(DIR, file)).map((manifest, i) => ({ name: `${file} #${i + 1}`, manifest })),
);

// The parts of the manifests this test reads, as the API defines them.
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  args: string[];
  command?: string[];
  ports: Array<{ name: string; containerPort: number }>;
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  resources: { requests: { cpu: string; memory: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; runAsNonRoot: boolean };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly: boolean }>;
}
interface Deployment {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext: { runAsNonRoot: boolean; runAsUser: number };
        containers: Container[];
        volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
      };
    };
  };
}

function only(kind: string, name?: string): Manifest {
  const found = MANIFESTS.map((m) => m.manifest).filter(
    (m) => m.kind === kind && (name === undefined || (m.metadata as { name: string }).name === name),
  );
  expect(found, `${kind} ${name ?? ""}`).toHaveLength(1);
  return found[0] as Manifest;
}

const deployment = only("Deployment") as unknown as Deployment;
const pod = deployment.spec.template.spec;
const container = pod.containers[0] as Container;
const configMap = only("ConfigMap") as unknown as { metadata: { name: string }; data: Record<string, string> };

/** The value after a flag in the container's arguments. */
function arg(flag: string): string {
  const i = container.args.indexOf(flag);
  expect(i, flag).toBeGreaterThanOrEqual(0);
  return container.args[i + 1] ?? "";
}

function mountOf(volume: { name: string }): string {
  return container.volumeMounts.find((m) => m.name === volume.name)?.mountPath ?? "";
}

describe("the Kubernetes manifests, against the Kubernetes API", () => {
  it("are a Deployment, two Services, a PodDisruptionBudget, a ConfigMap and a ServiceMonitor", () => {
    expect(MANIFESTS.map((m) => m.manifest.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "PodDisruptionBudget",
      "Service",
      "Service",
      "ServiceMonitor",
    ]);
  });

  it.each(MANIFESTS.map((m) => [m.name, m.manifest] as const))("%s is valid against its kind's schema", (_, m) => {
    expect(schemaErrors(m)).toEqual([]);
  });

  it("have no field their kind does not declare, at any depth", () => {
    expect(typeErrors(MANIFESTS)).toEqual([]);
  });

  it("the checks refuse a mistyped value, a malformed quantity and a misspelt field", () => {
    const broken = (edit: (d: Deployment) => void): Manifest => {
      const copy = structuredClone(deployment);
      edit(copy);
      return copy as unknown as Manifest;
    };
    const replicas = broken((d) => Object.assign(d.spec, { replicas: "three" }));
    expect(schemaErrors(replicas).join("\n")).toMatch(/replicas/);
    const memory = broken((d) =>
      Object.assign(d.spec.template.spec.containers[0]!.resources.requests, { memory: "a lot" }),
    );
    expect(schemaErrors(memory).join("\n")).toMatch(/memory|quantity|pattern|format/i);
    const misspelt = broken((d) => {
      const c = d.spec.template.spec.containers[0]! as Partial<Container> & { readinesProbe?: Probe };
      c.readinesProbe = c.readinessProbe;
      delete c.readinessProbe;
    });
    expect(typeErrors([{ name: "misspelt", manifest: misspelt }]).join("\n")).toMatch(/readinesProbe/);
  });

  it("kustomization.yaml applies every manifest but the ServiceMonitor, which needs the operator's CRDs", () => {
    const k = parse(readProject(DIR, "kustomization.yaml")) as { resources: string[] };
    expect([...k.resources].sort()).toEqual(FILES.filter((f) => f !== "servicemonitor.yaml"));
  });
});

describe("the Deployment", () => {
  it("runs three replicas of the image's `enrollgate serve`, non-root, from a read-only root filesystem", () => {
    expect(deployment.spec.replicas).toBe(3);
    expect(container.command).toBeUndefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
    });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it("probes the admin port, and the Services and the budget select its pods", () => {
    const admin = container.ports.find((p) => p.name === "admin");
    expect(admin?.containerPort).toBe(Number(arg("--admin-port")));
    expect(container.ports.find((p) => p.name === "http")?.containerPort).toBe(Number(arg("--port")));
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(probe.httpGet.port).toBe("admin");
    }
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    for (const m of MANIFESTS.map((x) => x.manifest).filter((x) => x.kind !== "Deployment")) {
      const spec = m.spec as { selector?: Record<string, string> & { matchLabels?: Record<string, string> } };
      if (m.kind === "Service") expect(labels).toMatchObject(spec.selector ?? {});
      if (m.kind === "PodDisruptionBudget") expect(labels).toMatchObject(spec.selector?.matchLabels ?? {});
    }
    const enrollment = only("Service", "enrollgate") as unknown as { spec: { ports: Array<{ targetPort: string }> } };
    expect(enrollment.spec.ports.map((p) => p.targetPort)).toEqual(["http"]);
  });

  it("mounts the policies from the ConfigMap and the beta tokens from a Secret in the secrets directory", () => {
    const policies = pod.volumes.find((v) => v.configMap !== undefined);
    expect(policies?.configMap?.name).toBe(configMap.metadata.name);
    expect(mountOf(policies!)).toBe(arg("--policies"));
    const tokens = pod.volumes.find((v) => v.secret !== undefined);
    expect(tokens?.secret?.secretName).toBe("enrollgate-beta-tokens");
    expect(mountOf(tokens!)).toBe(arg("--secrets-dir"));
    expect(container.volumeMounts.every((m) => m.readOnly)).toBe(true);
    // The example beta rule reads its token from the Secret's mount.
    expect(configMap.data["beta.yaml"]).toContain(`file: ${arg("--secrets-dir")}/`);
  });
});

describe("the Deployment's container, run as the gate", () => {
  const ports = { main: 0, admin: 0 };
  let root: string;
  let gate: Running;
  /** A path of the container's filesystem, in this test's directory. */
  const inPod = (text: string) =>
    text
      .replaceAll(arg("--policies"), join(root, arg("--policies")))
      .replaceAll(arg("--secrets-dir"), join(root, arg("--secrets-dir")));

  beforeAll(async () => {
    ports.main = await freePort();
    ports.admin = await freePort();
    root = await tempDir();
    const files: Record<string, string> = {};
    for (const [key, text] of Object.entries(configMap.data))
      files[join(arg("--policies"), key).slice(1)] = inPod(text);
    files[join(arg("--secrets-dir"), "ios27-beta-token").slice(1)] = "seed-token\n";
    await writeFiles(root, files);
    const args = container.args.map((a) =>
      a === arg("--port") ? String(ports.main) : a === arg("--admin-port") ? String(ports.admin) : inPod(a),
    );
    gate = run(process.execPath, [projectPath("dist/cli/main.js"), "serve", ...args]);
    await listening(gate);
  }, 60_000);

  afterAll(async () => {
    if (gate.child.exitCode === null) gate.child.kill("SIGTERM");
    await gate.exited;
  });

  it("compiles the ConfigMap's policies with the Secret's token and passes its probes", async () => {
    expect(gate.url(), gate.stderr()).toBe(`http://0.0.0.0:${ports.main}`);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      const r = await fetch(`http://127.0.0.1:${ports.admin}${probe.httpGet.path}`);
      expect(r.status, probe.httpGet.path).toBe(200);
    }
    const ready = await fetch(`http://127.0.0.1:${ports.admin}/readyz`);
    expect(await ready.json()).toMatchObject({ status: "ready", rules: 3 });
  });
});

describe("deploy/kubernetes/git-sync: the policies from a git repository", () => {
  const manifests = readManifests(readProject(DIR, "git-sync", "deployment.yaml"));
  const synced = manifests[0] as unknown as Deployment & {
    spec: {
      template: { spec: { initContainers: Array<{ name: string; env: Array<{ name: string; value: string }> }> } };
    };
  };
  const gitPod = synced.spec.template.spec;
  const gitContainer = gitPod.containers.find((c) => (c as { name?: string }).name === "enrollgate") as Container;
  const gitArg = (flag: string) => gitContainer.args[gitContainer.args.indexOf(flag) + 1] ?? "";

  it("is a valid Deployment with no unknown field, applied with the Service and the budget", () => {
    expect(manifests.map((m) => m.kind)).toEqual(["Deployment"]);
    expect(schemaErrors(manifests[0] as Manifest)).toEqual([]);
    expect(typeErrors([{ name: "git-sync/deployment.yaml", manifest: manifests[0] as Manifest }])).toEqual([]);
    const k = parse(readProject(DIR, "git-sync", "kustomization.yaml")) as { resources: string[] };
    expect(k.resources).toEqual(["deployment.yaml", "../service.yaml", "../pdb.yaml"]);
  });

  it("runs the same gate on the checkout the git-sync containers keep at the link `current`", () => {
    const strip = (c: Container) => ({
      ...c,
      args: c.args.filter((a) => a !== arg("--policies") && a !== gitArg("--policies")),
    });
    expect({ ...strip(gitContainer), volumeMounts: [] }).toEqual({ ...strip(container), volumeMounts: [] });
    const sync = gitPod.initContainers.find((c) => c.name === "git-sync-init");
    const env = Object.fromEntries((sync?.env ?? []).map((e) => [e.name, e.value]));
    expect(env.GITSYNC_ONE_TIME).toBe("true");
    const root = env.GITSYNC_ROOT ?? "";
    expect(gitArg("--policies")).toBe(`${root}/${env.GITSYNC_LINK}/policies`);
    expect(gitContainer.volumeMounts).toContainEqual({ name: "git", mountPath: root, readOnly: true });
    expect(synced.spec.template.spec.containers.map((c) => (c as { name?: string }).name)).toEqual([
      "enrollgate",
      "git-sync",
    ]);
  });

  it("follows the link each time git-sync moves it to a new checkout and deletes the old one", async () => {
    const root = await tempDir();
    const rule = (n: number) =>
      `  - { id: floor-${n}, platform: iOS, models: ["iPhone1${n},*"], minimum: "26.${n}" }\n`;
    /** A checkout with `rules` rules, made current as git-sync does: new worktree, link swapped, old one gone. */
    let previous: string | null = null;
    const sync = async (rules: number) => {
      const worktree = join(root, ".worktrees", `commit-${rules}`);
      await mkdir(join(worktree, "policies"), { recursive: true });
      await writeFile(
        join(worktree, "policies", "rules.yaml"),
        `rules:\n${[...Array(rules).keys()].map((i) => rule(i + 1)).join("")}`,
      );
      await symlink(worktree, join(root, "current.tmp"));
      await rename(join(root, "current.tmp"), join(root, "current"));
      if (previous !== null) await rm(previous, { recursive: true });
      previous = worktree;
    };
    await sync(1);
    const port = await freePort();
    const gate = run(process.execPath, [
      projectPath("dist/cli/main.js"),
      "serve",
      "--policies",
      join(root, "current", "policies"),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ]);
    await listening(gate);
    const rules = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { rules?: number }).rules;
    expect(await rules(), gate.stderr()).toBe(1);
    for (const n of [2, 3, 4]) {
      await sync(n);
      await eventually(async () => (await rules()) === n, `the gate on the checkout with ${n} rules`, 15_000);
    }
    expect(gate.lines.filter((l) => l.event === "policy-dir-moved").length).toBeGreaterThanOrEqual(3);
    gate.child.kill("SIGTERM");
    expect(await gate.exited).toBe(0);
  }, 60_000);
});
