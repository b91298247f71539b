import { binomialCdf } from './binomial.js';
import { chiSquareSurvival } from './chi-square.js';
import type { TestResult } from './test-result.js';

/** Below this many discordant pairs McNemar's test is the exact binomial one (statsmodels' rule of thumb). */
export const MCNEMAR_EXACT_BELOW = 25;

/**
 * McNemar's test for paired yes/no outcomes, from the discordant counts: `onlyA` pairs where A says yes
 * and B no, `onlyB` the reverse. Under 25 discordant pairs: the exact two-sided binomial test
 * (statistic min(onlyA, onlyB)); from 25 on: chi-square with Edwards' continuity correction,
 * (|onlyA − onlyB| − 1)^2 / (onlyA + onlyB), 1 degree of freedom.
 */
export const mcnemarTest = (onlyA: number, onlyB: number): TestResult => {
  const discordant = onlyA + onlyB;
  if (discordant < MCNEMAR_EXACT_BELOW) {
    const statistic = Math.min(onlyA, onlyB);
    const pValue = discordant === 0 ? 1 : Math.min(1, 2 * binomialCdf(statistic, discordant, 0.5));
    return { test: 'mcnemar', method: 'exact', statistic, pValue };
  }
  const statistic = (Math.abs(onlyA - onlyB) - 1) ** 2 / discordant;
  return { test: 'mcnemar', method: 'asymptotic', statistic, pValue: chiSquareSurvival(statistic, 1) };
};
