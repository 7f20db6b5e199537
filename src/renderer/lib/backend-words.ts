// The engine's backend report in words a non-coder reads at a glance: one short sentence, and the
// engine's own reasons (without repeats) for whoever wants to know why.
import { gpuWords } from '../../shared/backend-label';
import type { BackendInfo } from '../../shared/types';

/** One short plain sentence: what does the work, and the gist of why nothing faster. */
export function backendSentence(info: Pick<BackendInfo, 'name' | 'reasons' | 'gpu'>): string {
  const notInstalled = info.reasons.some((r) => /not installed/i.test(r));
  // WebGPU support ships with the app, so on a machine without a card that is the truer gist.
  const noCard = info.reasons.some((r) => /^No graphics card was found/i.test(r));
  const why = (fallback: string) => (noCard ? 'no graphics card found.' : notInstalled ? 'no GPU support installed.' : fallback);
  switch (info.name) {
    case 'tensorflow-gpu':
      return 'Graphics card (GPU): the fastest way to train.';
    case 'webgpu':
      if (!info.gpu) return 'Graphics card (WebGPU).';
      return info.gpu.software ? `${gpuWords(info.gpu)}: a software stand-in for a graphics card, slower than the CPU.` : `${gpuWords(info.gpu)}: the fastest way to train here.`;
    case 'tensorflow':
      return `CPU (TensorFlow): ${why('the graphics card is not used.')}`;
    case 'wasm':
      return `CPU (WebAssembly): ${why('TensorFlow could not start here.')}`;
    case 'cpu':
      return 'CPU (plain JavaScript, the slowest): WebAssembly could not start.';
  }
}

/**
 * The engine's reasons, each said once. Two parts of the engine can explain the same missing
 * TensorFlow for Node (the backend choice, then the feature extractor's route): the extractor's
 * "was not used" line adds nothing when the backend already said why, so it is left out.
 */
export function backendReasons(info: Pick<BackendInfo, 'reasons'>): string[] {
  const unique = [...new Set(info.reasons.map((r) => r.trim()).filter(Boolean))];
  const nodeExplained = unique.some((r) => /^TensorFlow for Node\b/.test(r));
  return unique.filter((r) => !(nodeExplained && /\(tfjs-node\) was not used/.test(r)));
}
