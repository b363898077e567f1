// `enrollgate adu pull`: a snapshot of every ADU update the policies reference.
import type { Command } from "commander";
import { ADU_APIS, type AduApi } from "../../feeds/adu-client.js";
import { EXIT, UsageError, type CliIO, type ExitCode } from "../io.js";
import { addSecretsDirOption, choice } from "../options.js";
import { loadAndCompile } from "../policies.js";
import { writeAtomically } from "../write-file.js";

interface AduPullOptions {
  policies: string;
  aduUrl: string;
  aduInstance: string;
  aduApi: AduApi;
  out: string;
  secretsDir?: string[];
}

export function registerAdu(program: Command, io: CliIO, exit: (code: ExitCode) => void): void {
  const adu = program.command("adu").description("Azure Device Update");
  const pull = adu
    .command("pull")
    .description("fetch every ADU update the policies reference and write a snapshot (--adu-catalog reads it)")
    .requiredOption("--policies <dir>", "the policy directory")
    .requiredOption("--adu-url <url>", "the ADU endpoint with its scheme, e.g. https://contoso.api.adu.microsoft.com")
    .requiredOption("--adu-instance <name>", "the ADU instance")
    .addOption(choice("--adu-api <api>", "the data-plane API", ADU_APIS).default("2022-10-01"))
    .requiredOption("--out <file>", "where to write the snapshot");
  addSecretsDirOption(pull).action(async (options: AduPullOptions) => {
    const [{ AduClient }, { pullAduCatalog, serializeAduCatalog }, { aduCredential, aduWants }] = await Promise.all([
      import("../../feeds/adu-client.js"),
      import("../../feeds/adu-catalog.js"),
      import("../../feeds/provider.js"),
    ]);
    const compiled = await loadAndCompile(options.policies, io, { purpose: "validate" }, {}, options.secretsDir);
    const wants = aduWants(compiled.rules);
    if (wants.length === 0)
      throw new UsageError(`no rule in ${options.policies} references an ADU update (adu: {provider, name})`);
    let client: InstanceType<typeof AduClient>;
    try {
      client = new AduClient({
        baseUrl: options.aduUrl,
        instance: options.aduInstance,
        api: options.aduApi,
        credential: await aduCredential(io.env),
      });
    } catch (e) {
      if (e instanceof TypeError) throw new UsageError(`--adu-url ${JSON.stringify(options.aduUrl)} is not a URL`);
      throw e;
    }
    const { catalog, failures } = await pullAduCatalog(
      client,
      wants,
      { url: options.aduUrl, instance: options.aduInstance, api: options.aduApi },
      null,
    );
    await writeAtomically(io.cwd, options.out, serializeAduCatalog(catalog));
    const count = (s: string) => catalog.entries.filter((e) => e.status === s).length;
    io.stdout(
      `wrote ${options.out}: ${catalog.entries.length} updates (${count("present")} present, ${count("not-imported")} not imported, ${count("unknown")} unknown)\n`,
    );
    for (const f of failures) io.stderr(`enrollgate: ${f}\n`);
    exit(failures.length > 0 ? EXIT.failed : EXIT.ok);
  });
}
