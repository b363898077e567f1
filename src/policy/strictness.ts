// DESIGN step 5: among rules a device is below, the strictest decides:
// highest minimum, then highest minimumBuild, then the most specific model
// pattern, then the smaller id. Also: when being below one rule implies being
// below another.
import { compareBuilds } from "../apple/build.js";
import { compareOsVersions } from "../apple/version.js";
import type { Rule } from "./model.js";

type Ranked = Pick<Rule, "id" | "minimum" | "minimumBuild">;

/** Negative when `a` is stricter than `b` (sorts first), positive when `b` is. */
export function byStrictness(a: Ranked, aSpecificity: number, b: Ranked, bSpecificity: number): number {
  const minimum = compareOsVersions(b.minimum, a.minimum);
  if (minimum !== 0) return minimum;
  if (a.minimumBuild !== b.minimumBuild) {
    if (a.minimumBuild === null) return 1;
    if (b.minimumBuild === null) return -1;
    const build = compareBuilds(b.minimumBuild, a.minimumBuild);
    if (build !== 0) return build;
  }
  if (aSpecificity !== bSpecificity) return bSpecificity - aSpecificity;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether every device below `inner` is also below `outer` (on the same scope). */
export function belowImplies(inner: Ranked, outer: Ranked): boolean {
  const c = compareOsVersions(outer.minimum, inner.minimum);
  if (c !== 0) return c > 0;
  if (inner.minimumBuild === null) return true;
  return outer.minimumBuild !== null && compareBuilds(outer.minimumBuild, inner.minimumBuild) >= 0;
}
