// How close a TFLite file that rounds its numbers on purpose must come to the app, on the checking
// photos (the export refuses to finish otherwise). The snippets' --check mode needs no such allowance:
// it compares with the file's own answers (samples.ts).

/** float16 weights move probabilities by up to ~1e-2, and may swap the top class of a photo the app finds a near tie. */
export const FP16_TOLERANCE = { agreement: 0.99, maxAbsDiff: 2e-2 };

/**
 * 8-bit values move probabilities by 0.006-0.025 on average (mean over photos of each photo's largest
 * difference), and flip a few photos near a tie, where one probability can move by up to ~0.5: measured on
 * hymenoptera's checking photos, 96.7-99.3% of top classes the same (the pair, MobileNetV2-0.35,
 * MobileNetV1-0.75). So the share of top classes and the average are bounded, not the largest difference.
 * A broken file agrees on about half the photos and is off by ~0.5 on average.
 */
export const INT8_TOLERANCE = {
  agreement: 0.95,
  meanAbsDiff: 0.05,
  // It can miss: the pair's flowers5 run (5 classes, many near ties) agreed on 86% of 300 photos, 0.117 on
  // average, before bias correction (quantize.ts); with it 95.0% and 0.043, just in (92% on the first 150).
  advice: 'Rounding to 8 bits changed too many answers on these photos. Export "TFLite" or "TFLite, half size" instead: they give the app\'s answers.',
};
