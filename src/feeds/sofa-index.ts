// Which actively exploited CVEs a device runs exposed to, by version: worked
// out once per device when a SOFA snapshot is read (in the compile worker,
// for the gate), so that answering for one device is a map lookup and a
// binary search.
//
// What "open" means. A release R fixes CVE C when SOFA lists C among R's
// CVEs. A device of model M running version V is exposed to C when
//   - some release above V that M can install (R lists M, or R lists no
//     device, is universal, and its OS version's Latest or another release
//     of that OS version lists M) fixes C, and
//   - no release of V's own major version at or below V fixes C for M.
// The second condition counts only V's own line: iOS 18.7.2 and 26.1 both
// fix CVE-2025-43520, and a device on 18.7.2 has the fix, but a device on
// 26.0 does not (26.0 shipped before 18.7.2), though 18.7.2 < 26.0. Apple
// fixes a newer line first or on the same day, never later, so an older
// line's fix below V never covers V's line. The fix named is the lowest
// release above V that fixes C for M: the version to ask for.
import { compareOsVersions, type OsVersion } from "../apple/version.js";
import { FeedError } from "./gdmf.js";
import type { SofaCve, SofaRelease } from "./sofa.js";

/** An actively exploited CVE open on a device, and the release that fixes it for that device. */
export interface OpenCve {
  readonly cve: string;
  readonly fixedIn: string;
  readonly inKEV: boolean;
}

/**
 * One device's exposure as a step function of its version: `open[i]` is what
 * is open below `at[i]` (and at or above `at[i - 1]`); the last entry, what
 * is open at or above the last step.
 */
export interface DeviceExposure {
  readonly at: ReadonlyArray<OsVersion>;
  readonly open: ReadonlyArray<ReadonlyArray<OpenCve>>;
}

/** Device identifier (a product type, a Mac's board id) → its exposure; devices with nothing to fix are absent. */
export type ExposureIndex = ReadonlyMap<string, DeviceExposure>;

/** Steps of work indexing may take; a snapshot that needs more is refused (it would be built to exhaust). */
export const INDEX_WORK_LIMIT = 5_000_000;

interface Fix {
  readonly version: OsVersion;
  readonly text: string;
}

const ZERO: OsVersion = Object.freeze({ major: 0, minor: 0, patch: 0, extra: null });
const majorStart = (major: number): OsVersion => Object.freeze({ major, minor: 0, patch: 0, extra: null });

export function indexExposure(
  releases: ReadonlyArray<SofaRelease>,
  cves: ReadonlyArray<SofaCve>,
  source: string,
): ExposureIndex {
  const kev = new Map(cves.map((c) => [c.id, c.inKEV]));
  let work = 0;
  const spend = (steps: number) => {
    work += steps;
    if (work > INDEX_WORK_LIMIT)
      throw new FeedError(`${source} is too large to index: it pairs too many devices, releases and CVEs`);
  };

  // Per device, per CVE: the releases that fix it for that device, lowest first (releases come sorted).
  const fixes = new Map<string, Map<string, Fix[]>>();
  for (const r of releases) {
    spend(r.devices.length * r.exploited.length);
    const fix = { version: r.version, text: r.versionText };
    for (const device of r.devices) {
      let byCve = fixes.get(device);
      if (byCve === undefined) fixes.set(device, (byCve = new Map()));
      for (const cve of r.exploited) {
        const list = byCve.get(cve);
        if (list === undefined) byCve.set(cve, [fix]);
        else list.push(fix);
      }
    }
  }

  // Equal lists are shared: most devices of a line see the same steps.
  const entries = new Map<string, OpenCve>();
  const lists = new Map<string, ReadonlyArray<OpenCve>>();
  const intern = (open: OpenCve[]): ReadonlyArray<OpenCve> => {
    const key = open.map((o) => `${o.cve}@${o.fixedIn}`).join(",");
    let list = lists.get(key);
    if (list === undefined) {
      list = Object.freeze(
        open.map((o) => {
          const k = `${o.cve}@${o.fixedIn}`;
          let e = entries.get(k);
          if (e === undefined) entries.set(k, (e = Object.freeze(o)));
          return e;
        }),
      );
      lists.set(key, list);
    }
    return list;
  };

  const index = new Map<string, DeviceExposure>();
  for (const [device, byCve] of fixes) {
    const cveIds = [...byCve.keys()].sort();
    const openAt = (v: OsVersion): ReadonlyArray<OpenCve> => {
      const open: OpenCve[] = [];
      for (const cve of cveIds) {
        const list = byCve.get(cve) as Fix[];
        spend(list.length);
        if (list.some((f) => f.version.major === v.major && compareOsVersions(f.version, v) <= 0)) continue;
        const next = list.find((f) => compareOsVersions(f.version, v) > 0);
        if (next !== undefined) open.push({ cve, fixedIn: next.text, inKEV: kev.get(cve) === true });
      }
      return intern(open);
    };
    // What is open changes only at a fix, or where a major version (a line) starts or ends.
    const steps: OsVersion[] = [];
    for (const list of byCve.values())
      for (const f of list) steps.push(f.version, majorStart(f.version.major), majorStart(f.version.major + 1));
    steps.sort(compareOsVersions);
    const at = steps.filter((v, i) => i === 0 || compareOsVersions(steps[i - 1] as OsVersion, v) !== 0);
    const open = [openAt(ZERO), ...at.map(openAt)];
    index.set(device, Object.freeze({ at: Object.freeze(at), open: Object.freeze(open) }));
  }
  return index;
}

/** What is open on a device at a version, by its exposure (binary search over its steps). */
export function openAt(exposure: DeviceExposure, version: OsVersion): ReadonlyArray<OpenCve> {
  let lo = 0;
  let hi = exposure.at.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOsVersions(exposure.at[mid] as OsVersion, version) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return exposure.open[lo] as ReadonlyArray<OpenCve>;
}
