import type { Difference, SideValue } from './compare.js';
import type { DriftOptions, DriftSource } from './input.js';
import type { DescriptorKind } from './descriptors.js';
import type { DriftEmbeddingResult } from './embeddings.js';

/** The drift report's shape (built by report.ts, put in words by verdict.ts and text.ts). */

/** The report's format, for stored reports and clients. */
export const DRIFT_REPORT_FORMAT = 'promptops.drift/1';

export interface DriftDescriptorResult {
  readonly name: string;
  readonly family: string;
  readonly kind: DescriptorKind;
  readonly words: string;
  readonly unit?: string;
  /** `not enough data`: fewer pairs (or outputs in the smaller sample) than `minimum`; nothing is tested. */
  readonly status: 'tested' | 'not enough data';
  readonly minimum: number;
  readonly count: { readonly a: number; readonly b: number };
  readonly a: SideValue | null;
  readonly b: SideValue | null;
  readonly difference: Difference | null;
  readonly test: string | null;
  readonly method: 'exact' | 'asymptotic' | null;
  readonly statistic: number | null;
  readonly p: number | null;
  /** After the correction across the tested descriptors. */
  readonly adjustedP: number | null;
  readonly drifted: boolean;
}

export interface DriftExample {
  readonly id: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly similarity: number;
  /** The binary and categorical descriptors whose values differ in this pair. */
  readonly differs: readonly string[];
  readonly a: string;
  readonly b: string;
}

export interface DriftReport {
  readonly verdict: string;
  readonly drifted: boolean;
  readonly format: typeof DRIFT_REPORT_FORMAT;
  readonly versions: { readonly a: string; readonly b: string };
  readonly source: DriftSource;
  readonly paired: boolean;
  readonly n: { readonly a: number; readonly b: number; readonly pairs: number | null };
  readonly alpha: number;
  readonly correction: DriftOptions['correction'];
  readonly descriptors: readonly DriftDescriptorResult[];
  /** Paired sources only: token Jaccard between the outputs of each pair. */
  readonly similarity: {
    readonly measure: 'token-jaccard';
    readonly mean: number;
    readonly median: number;
    readonly identical: number;
  } | null;
  readonly examples: readonly DriftExample[];
  /** Only when embeddings were asked for (a provider is configured): computed, or why they are missing. */
  readonly embedding?: DriftEmbeddingResult;
}
