// Defaults that both the engine and the app's screens must agree on.

/** Epochs of head training when none are given: the engine's recipe (src/engine/train/defaults.ts), and what the Train step shows. */
export const DEFAULT_EPOCHS = 30;
