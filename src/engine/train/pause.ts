// Pause for a running training: the loop awaits wait() before each batch; cancelling while paused
// still ends the run at once.

export interface PauseGate {
  readonly paused: boolean;
  set(paused: boolean): void;
  /** Resolves at once when not paused; otherwise when resumed. Rejects when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void>;
}

export function createPauseGate(): PauseGate {
  let paused = false;
  let release: (() => void) | null = null;
  let gate: Promise<void> = Promise.resolve();
  return {
    get paused() {
      return paused;
    },
    set(next) {
      if (next === paused) return;
      paused = next;
      if (paused) gate = new Promise<void>((resolve) => (release = resolve));
      else release?.();
    },
    wait(signal) {
      if (!paused) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason ?? new DOMException('Cancelled.', 'AbortError'));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        void gate.then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    },
  };
}
