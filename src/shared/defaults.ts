// Defaults that both the engine and the app's screens must agree on.

/** Epochs of head training when none are given: the engine's recipe (src/engine/train/defaults.ts), and what the Train step shows. */
export const DEFAULT_EPOCHS = 30;

/**
 * The starting model when nobody picks one: both MobileNets side by side, the most accurate of the
 * catalog on re-splits of every shared photo set (docs/BENCHMARKS.md "Two backbones side by side").
 */
export const DEFAULT_BACKBONE = 'mobilenet_pair';
