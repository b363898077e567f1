// Rules as objects. Classes rather than object literals with a lazy property:
// every rule then shares one hidden class, so decide() reads its fields at
// full speed and a 10,000-rule set stays small, while a rule's position in its
// file is still computed only when something asks for it (clean sets never do).
import { InternalError } from "../errors.js";
import type { CompiledRule } from "./compile.js";
import type { Rule } from "./model.js";
import type { SourceRange } from "./findings.js";

export type RuleFields = Omit<Rule, "source">;

// Declaration merging: the fields come from Object.assign in the constructor,
// which keeps one constructor for every field list; a class cannot declare
// them otherwise without repeating the model.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface PolicyRule extends RuleFields {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PolicyRule implements Rule {
  #locate: (() => SourceRange) | null;
  #source: SourceRange | undefined;
  readonly #file: string;

  constructor(fields: RuleFields, locate: () => SourceRange, file: string) {
    Object.assign(this, fields);
    this.#locate = locate;
    this.#file = file;
  }

  /** The file the rule is defined in, known without locating the rule in it. */
  get file(): string {
    return this.#file;
  }

  /** Where the rule is defined (its `id`), found on first read. */
  get source(): SourceRange {
    if (this.#source === undefined) {
      this.#source = (this.#locate ?? unreachable)();
      this.#locate = null; // the file's parsed AST can go once the position is known
    }
    return this.#source;
  }

  toJSON(): Rule {
    return { ...this, source: this.source };
  }
}

function unreachable(): never {
  throw new InternalError("rule position lost");
}

export type CompiledFields = Pick<CompiledRule, "globs" | "token" | "bodies">;

// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface CompiledPolicyRule extends CompiledFields {}

/** A rule ready for decide(): its fields, compiled globs, resolved token and prebuilt bodies. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class CompiledPolicyRule extends PolicyRule implements CompiledRule {
  constructor(rule: PolicyRule, compiled: CompiledFields) {
    // Fields first, then the compiled parts, in one fixed order for every rule.
    super(rule, () => rule.source, rule.file);
    Object.assign(this, { globs: compiled.globs, token: compiled.token, bodies: compiled.bodies });
  }

  override toJSON(): CompiledRule {
    return { ...this, source: this.source };
  }
}
