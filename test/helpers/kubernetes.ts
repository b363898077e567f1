// Kubernetes manifests checked against the Kubernetes API's schemas, offline.
// kubernetes-models (tommy351/kubernetes-models-ts, MIT) ships the API's
// OpenAPI definitions compiled to Ajv validators, one per kind, and
// TypeScript declarations generated from the same definitions. The
// validators check types, formats (quantities, int-or-string) and required
// fields; like the OpenAPI definitions they come from, they let unknown
// fields through, which kubectl (strict field validation since 1.27) refuses.
// So each manifest is also compiled as an object literal of its kind's
// declared type: TypeScript's excess property check names every unknown
// field, at any depth (a misspelt `readinesProbe` included).
import { createRequire } from "node:module";
import ts from "typescript";
import { parseAllDocuments } from "yaml";
import { projectPath } from "./project.js";

export type Manifest = Record<string, unknown> & { readonly apiVersion: string; readonly kind: string };

/** Every document of a YAML file. */
export function readManifests(text: string): Manifest[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join("; "));
    return d.toJS() as Manifest;
  });
}

/** The module of kubernetes-models that defines a kind: its validating class and its declared type. */
function modelModule(m: Manifest): string {
  const [group, version] = m.apiVersion.includes("/") ? m.apiVersion.split("/") : ["", m.apiVersion];
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${m.kind}`;
  }
  return `kubernetes-models/${group === "" ? "" : `${group}/`}${version}/${m.kind}`;
}

const require = createRequire(projectPath("package.json"));

type ModelClass = new (data: unknown) => { validate(): void };

/** What the API's schema says of a manifest: nothing, or why it is invalid. */
export function schemaErrors(m: Manifest): string[] {
  const module = modelModule(m);
  let Model: ModelClass;
  try {
    Model = (require(module) as Record<string, ModelClass>)[m.kind] as ModelClass;
  } catch {
    return [`no schema for ${m.apiVersion} ${m.kind} (${module})`];
  }
  try {
    new Model(m).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

/** Unknown or mistyped fields, as TypeScript reports them against each kind's declared type. */
export function typeErrors(manifests: ReadonlyArray<{ readonly name: string; readonly manifest: Manifest }>): string[] {
  const files = new Map<string, string>();
  manifests.forEach(({ name, manifest }, i) => {
    const file = projectPath(`__manifest_${i}.ts`);
    files.set(
      file,
      [
        `// ${name}`,
        `import type { I${manifest.kind} } from ${JSON.stringify(modelModule(manifest))};`,
        `export const manifest: I${manifest.kind} = ${JSON.stringify(manifest, null, 2)};`,
        "",
      ].join("\n"),
    );
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    const text = files.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const header = d.file?.text.split("\n", 1)[0]?.slice(3) ?? "";
    const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
    const at = d.file?.text.split("\n")[line]?.trim() ?? "";
    return `${header}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")} (at ${at})`;
  });
}
