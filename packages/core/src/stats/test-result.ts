/** A hypothesis test's outcome: which test, how it was computed, its statistic and two-sided p-value. */
export interface TestResult {
  readonly test: string;
  /** `exact` (the test's own distribution) or `asymptotic` (normal or chi-square approximation). */
  readonly method: 'exact' | 'asymptotic';
  readonly statistic: number;
  readonly pValue: number;
}
