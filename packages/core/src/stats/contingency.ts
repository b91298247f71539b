import { chiSquareSurvival } from './chi-square.js';
import type { TestResult } from './test-result.js';

/**
 * Pearson's chi-square test of independence of an r×c table of counts, without continuity correction
 * (SciPy's `chi2_contingency(correction=False)`). Rows or columns with no counts are left out; a table
 * with fewer than two of either has p = 1. The result carries the degrees of freedom.
 */
export const chiSquareIndependence = (table: readonly (readonly number[])[]): TestResult & { readonly df: number } => {
  const rows = table.filter((row) => row.some((x) => x > 0));
  const width = Math.max(0, ...rows.map((row) => row.length));
  const columns = Array.from({ length: width }, (_, j) => j).filter((j) => rows.some((row) => (row[j] ?? 0) > 0));
  const df = (rows.length - 1) * (columns.length - 1);
  if (df <= 0) return { test: 'chi-square', method: 'asymptotic', statistic: 0, pValue: 1, df: 0 };
  const rowTotals = rows.map((row) => columns.reduce((sum, j) => sum + (row[j] ?? 0), 0));
  const columnTotals = columns.map((j) => rows.reduce((sum, row) => sum + (row[j] ?? 0), 0));
  const total = rowTotals.reduce((sum, x) => sum + x, 0);
  let statistic = 0;
  rows.forEach((row, i) => {
    columns.forEach((j, k) => {
      const expected = (rowTotals[i]! * columnTotals[k]!) / total;
      statistic += ((row[j] ?? 0) - expected) ** 2 / expected;
    });
  });
  return { test: 'chi-square', method: 'asymptotic', statistic, pValue: chiSquareSurvival(statistic, df), df };
};
