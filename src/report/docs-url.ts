// Where docs/findings.md is published, for links from reports (SARIF's
// helpUri). A link is only as true as the repository the package declares, so
// it comes from package.json's `repository` alone, at the release's tag
// (`v<version>`, as `npm version` names it) so that a code's entry reads as
// the version that reported it. Without a GitHub or GitLab repository there is
// no link: helpUri is optional in SARIF, and each rule's help still names
// docs/findings.md, which ships in the package.

/** The fields of package.json this reads. */
export interface PackageManifest {
  readonly version: string;
  readonly repository?: string | { readonly type?: string; readonly url: string; readonly directory?: string };
}

interface Host {
  /** The repository's path: GitHub's is owner/name; GitLab's may have subgroups. */
  readonly path: RegExp;
  readonly file: (path: string, tag: string, file: string) => string;
}

const HOSTS = new Map<string, Host>([
  [
    "github.com",
    { path: /^[\w.-]+\/[\w.-]+$/, file: (path, tag, file) => `https://github.com/${path}/blob/${tag}/${file}` },
  ],
  [
    "gitlab.com",
    { path: /^[\w.-]+(\/[\w.-]+)+$/, file: (path, tag, file) => `https://gitlab.com/${path}/-/blob/${tag}/${file}` },
  ],
]);

/**
 * `host` and `owner/name` of a repository as npm writes it: a URL, `git@host:path`, or a `github:`/`gitlab:` shorthand.
 */
function repositoryOf(spec: string): { host: string; path: string } | undefined {
  const shorthand = /^(?:(github|gitlab):)?([\w.-]+(?:\/[\w.-]+)+)$/.exec(spec);
  if (shorthand !== null) return { host: `${shorthand[1] ?? "github"}.com`, path: shorthand[2] ?? "" };
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(spec);
  let url: URL;
  try {
    url = new URL(scp !== null ? `ssh://git@${scp[1]}/${scp[2]}` : spec.replace(/^git\+/, ""));
  } catch {
    return undefined;
  }
  return {
    host: url.hostname.toLowerCase().replace(/^www\./, ""),
    path: decodeURIComponent(url.pathname)
      .replace(/^\/+|\/+$/g, "")
      .replace(/\.git$/, ""),
  };
}

/**
 * The absolute URL of docs/findings.md for this release, or undefined when package.json names no GitHub or GitLab
 * repository.
 */
export function findingsDocsUrl(manifest: PackageManifest): string | undefined {
  const repository = manifest.repository;
  if (repository === undefined) return undefined;
  const spec = typeof repository === "string" ? repository : repository.url;
  const where = repositoryOf(spec);
  const host = where === undefined ? undefined : HOSTS.get(where.host);
  if (where === undefined || host === undefined || !host.path.test(where.path)) return undefined;
  const directory = typeof repository === "string" ? "" : (repository.directory ?? "").replace(/^\/+|\/+$/g, "");
  return host.file(where.path, `v${manifest.version}`, `${directory === "" ? "" : `${directory}/`}docs/findings.md`);
}
