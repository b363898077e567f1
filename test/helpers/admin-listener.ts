// The admin listener (`serve --admin-port N --admin-host H`, serving /healthz,
// /readyz and /metrics apart from enrollment traffic) comes from another
// branch of issue 14. The deployment files (Dockerfile, Kubernetes
// manifests) already use it. Until it is merged, the tests that run those
// files drop the two flags and probe the main port, which serves the same
// endpoints today. Merging it is this one line: set ADMIN_LISTENER to true.
export const ADMIN_LISTENER = false;

const ADMIN_FLAGS = new Set(["--admin-port", "--admin-host"]);

/** `serve` flags as this build takes them: without the admin listener's until it exists. */
export function serveArgs(args: ReadonlyArray<string>): string[] {
  if (ADMIN_LISTENER) return [...args];
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (ADMIN_FLAGS.has(arg)) i++;
    else if (![...ADMIN_FLAGS].some((f) => arg.startsWith(`${f}=`))) out.push(arg);
  }
  return out;
}

/** The port that answers /healthz, /readyz and /metrics: the admin port, or the main port until it exists. */
export function probePort(ports: { readonly main: number; readonly admin: number }): number {
  return ADMIN_LISTENER ? ports.admin : ports.main;
}
