import { describe, expect, it } from 'vitest';
import { backendReasons, backendSentence } from './backend-words';

// The reasons a machine without tfjs-node gives today (backend.ts, then features/extractor.ts).
const WASM_REASONS = [
  'The graphics-card edition of TensorFlow is not installed (its download needs the internet and an NVIDIA card): training will use the CPU.',
  'TensorFlow for Node is not installed (its download needs the internet): using the WebAssembly engine, which is slower.',
  'Features run on ONNX Runtime (CPU, 2 threads) with the backbone converted to ONNX by Foldwise.',
  'TensorFlow native (tfjs-node) was not used: it is not installed or did not load.',
];

describe('backend words', () => {
  it('says in one short sentence what trains and why nothing faster', () => {
    expect(backendSentence({ name: 'wasm', reasons: WASM_REASONS })).toBe('CPU (WebAssembly): no GPU support installed.');
    const noCard = 'No graphics card was found for WebGPU: training will use the CPU.';
    expect(backendSentence({ name: 'wasm', reasons: [...WASM_REASONS, noCard] })).toBe('CPU (WebAssembly): no graphics card found.');
    expect(backendSentence({ name: 'tensorflow', reasons: [noCard] })).toBe('CPU (TensorFlow): no graphics card found.');
    expect(backendSentence({ name: 'wasm', reasons: ['TensorFlow for Node needs a newer Linux (its system C library is too old): using the WebAssembly engine, which is slower.'] })).toBe(
      'CPU (WebAssembly): TensorFlow could not start here.',
    );
    expect(backendSentence({ name: 'tensorflow-gpu', reasons: [] })).toMatch(/^Graphics card/);
    expect(backendSentence({ name: 'cpu', reasons: [] })).toMatch(/slowest/);
    for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const) {
      expect(backendSentence({ name, reasons: WASM_REASONS }).length).toBeLessThan(70);
    }
  });

  it('keeps every reason once and drops the second "tfjs-node is not installed"', () => {
    const reasons = backendReasons({ reasons: [...WASM_REASONS, WASM_REASONS[0]!] });
    expect(reasons).toEqual(WASM_REASONS.slice(0, 3));
    expect(reasons.filter((r) => /not installed/.test(r) && /Node|tfjs-node/.test(r))).toHaveLength(1);
  });

  it('keeps the extractor\'s line when nothing else explains the missing TensorFlow for Node', () => {
    expect(backendReasons({ reasons: [WASM_REASONS[3]!] })).toEqual([WASM_REASONS[3]]);
  });
});
