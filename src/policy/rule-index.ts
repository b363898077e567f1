// Finding the rules that can apply to a device without walking every rule:
// per platform, exact models in a Map, globs bucketed by their literal prefix
// (looked up by the device's own prefixes of the lengths that occur), and
// rules without models in a list.
import type { Platform } from "../apple/platform.js";
import { specificity, type ModelGlob } from "./glob.js";

export interface IndexableRule {
  readonly platform: string;
  readonly globs: ReadonlyArray<ModelGlob> | null;
}

export interface Candidate<R> {
  readonly rule: R;
  /** The most specific pattern that matched; null for a rule without models. */
  readonly matched: ModelGlob | null;
}

interface PlatformIndex<R> {
  readonly exact: Map<string, Array<{ rule: R; glob: ModelGlob }>>;
  readonly byPrefix: Map<string, Array<{ rule: R; glob: ModelGlob }>>;
  /** Distinct prefix lengths in byPrefix, ascending. */
  prefixLengths: number[];
  readonly everyModel: R[];
}

export class RuleIndex<R extends IndexableRule> {
  private readonly platforms = new Map<string, PlatformIndex<R>>();

  constructor(rules: ReadonlyArray<R>) {
    for (const rule of rules) {
      let p = this.platforms.get(rule.platform);
      if (p === undefined) {
        p = { exact: new Map(), byPrefix: new Map(), prefixLengths: [], everyModel: [] };
        this.platforms.set(rule.platform, p);
      }
      if (rule.globs === null) {
        p.everyModel.push(rule);
        continue;
      }
      for (const glob of rule.globs) {
        const bucket = glob.exact ? p.exact : p.byPrefix;
        const key = glob.prefix;
        let list = bucket.get(key);
        if (list === undefined) {
          list = [];
          bucket.set(key, list);
        }
        list.push({ rule, glob });
      }
    }
    for (const p of this.platforms.values()) {
      p.prefixLengths = [...new Set([...p.byPrefix.keys()].map((k) => k.length))].sort((a, b) => a - b);
    }
  }

  /** The rules of a platform whose models match PRODUCT or SOFTWARE_UPDATE_DEVICE_ID. */
  candidates(platform: Platform, identifiers: ReadonlyArray<string>): Array<Candidate<R>> {
    const p = this.platforms.get(platform);
    if (p === undefined) return [];
    // A device matches a handful of rules: an array beats a Map here.
    const found: Array<{ rule: R; matched: ModelGlob | null }> = [];
    const consider = (rule: R, glob: ModelGlob | null) => {
      for (const f of found) {
        if (f.rule === rule) {
          if (specificity(glob) > specificity(f.matched)) f.matched = glob;
          return;
        }
      }
      found.push({ rule, matched: glob });
    };
    for (const rule of p.everyModel) consider(rule, null);
    for (const id of identifiers) {
      const exact = p.exact.get(id);
      if (exact !== undefined) for (const hit of exact) consider(hit.rule, hit.glob);
      for (const length of p.prefixLengths) {
        if (length > id.length) break;
        const bucket = p.byPrefix.get(id.slice(0, length));
        if (bucket !== undefined) for (const hit of bucket) if (hit.glob.test(id)) consider(hit.rule, hit.glob);
      }
    }
    return found;
  }

  /** Every rule of a platform, for explanations that list what did not match. */
  count(platform: Platform): number {
    const p = this.platforms.get(platform);
    if (p === undefined) return 0;
    const rules = new Set<R>(p.everyModel);
    for (const list of [...p.exact.values(), ...p.byPrefix.values()]) for (const hit of list) rules.add(hit.rule);
    return rules.size;
  }
}
