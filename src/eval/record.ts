/**
 * What the evaluation keeps of one sample: small, JSON-safe, enough for every metric. Its own
 * module because the evaluator and the MVSS-Net metrics it calls both read it.
 */
export interface SampleRecord {
  readonly id: string;
  readonly label: 0 | 1;
  readonly score: number;
  /** this image's [N00, N01, N10, N11] */
  readonly confusion: readonly [number, number, number, number];
  readonly video?: string;
  readonly method?: string;
  /** whether its pixels went into this shard's pixel-AUC histogram (false for a repeat of an id) */
  readonly inPixelHistogram: boolean;
  /** the largest pixel P(fake) of its map (MVSS-Net's image score, Table 5) */
  readonly maxPixelScore?: number;
}
