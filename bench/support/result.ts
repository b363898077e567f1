// One row of the benchmark table.

export interface BenchRow {
  readonly scenario: string;
  readonly what: string;
  /** The measured figure, as shown. */
  readonly result: string;
  /** The same-run baseline, when there is one. */
  readonly baseline?: string;
  /** result / baseline (throughput) or baseline-relative cost, when there is a baseline. */
  readonly ratio?: number;
  readonly target: string;
  /** null: reported, no target. */
  readonly met: boolean | null;
  /** Raw numbers, for the JSON results file. */
  readonly data: Record<string, unknown>;
}

export interface Scenario {
  readonly name: string;
  run(options: { quick: boolean }): Promise<BenchRow[]>;
}
