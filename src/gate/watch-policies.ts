// Watching the policy directory for changes. A watch stays on the directory
// it was opened on, but the path may reach the policies through a symlink
// that is replaced whole: git-sync swaps its `current` link to each new
// checkout and deletes the old one, release tools swap a `current` link the
// same way. So whenever the path's real directory changes (noticed on the
// next event, or within `pollMs`), the watch moves to the new one and the
// set is reloaded. (A ConfigMap volume is not such a case: the kubelet swaps
// a link inside the mounted directory, which a watch on it sees.)
import { realpathSync, watch, type FSWatcher } from "node:fs";
import type { Logger } from "./log.js";

function realPath(dir: string): string | null {
  try {
    return realpathSync(dir);
  } catch {
    return null;
  }
}

/** Calls `onChange` when anything under `dir` changes; returns the function that stops watching. */
export function watchPolicies(
  dir: string,
  onChange: () => void,
  logger: Logger,
  options: { readonly pollMs?: number } = {},
): () => void {
  let watcher: FSWatcher | null = null;
  let watched: string | null = null;
  let retry: NodeJS.Timeout | null = null;
  let stopped = false;
  const restart = () => {
    watcher?.close();
    watcher = null;
    start();
    onChange();
  };
  const moved = () => {
    if (stopped || retry !== null) return;
    const real = realPath(dir);
    if (real === null || real === watched) return;
    logger.info(
      { event: "policy-dir-moved", dir, from: watched, to: real },
      "the policy directory now resolves to another directory; watching that one",
    );
    restart();
  };
  const start = () => {
    retry = null;
    if (stopped) return;
    try {
      watched = realPath(dir);
      watcher = watch(dir, { recursive: true }, () => {
        onChange();
        moved();
      });
      watcher.on("error", (e) => {
        logger.warn(
          { event: "watch-error", dir, error: e.message },
          "cannot watch the policy directory; keeping the active set and retrying",
        );
        watcher?.close();
        watcher = null;
        retry ??= setTimeout(start, 2000);
        onChange();
      });
    } catch (e) {
      logger.warn(
        { event: "watch-error", dir, error: (e as Error).message },
        "cannot watch the policy directory; retrying",
      );
      retry ??= setTimeout(start, 2000);
    }
  };
  start();
  // A link swapped without deleting the old directory gives the old watch no event.
  const poll = setInterval(moved, options.pollMs ?? 2000);
  poll.unref();
  return () => {
    stopped = true;
    clearInterval(poll);
    watcher?.close();
    if (retry !== null) clearTimeout(retry);
  };
}
