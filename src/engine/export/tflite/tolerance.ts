// How close a TFLite file that rounds its numbers on purpose must come to the app, on the checking
// photos (the export refuses to finish otherwise), and what the snippets' --check mode allows.

/** float16 weights move probabilities by up to ~1e-2, and may swap the top class of a photo the app finds a near tie. */
export const FP16_TOLERANCE = { agreement: 0.99, maxAbsDiff: 2e-2 };

/**
 * 8-bit values move probabilities by ~0.02 on average, and by up to ~0.46 on a photo near a tie, which
 * then changes class: measured on hymenoptera's checking photos, 96.7-98.7% of top classes the same
 * (the pair, MobileNetV2-0.35, MobileNetV1-0.75). A broken file agrees on about half.
 */
export const INT8_TOLERANCE = { agreement: 0.95, maxAbsDiff: 0.5 };
