// What the model card says about the backbone's weights: frozen, the top fine-tuned (naming the cut), or every layer.
import { describe, expect, it } from 'vitest';
import { backboneWords } from './card';

describe('the model card on the backbone', () => {
  it('says which layers were fine-tuned', () => {
    expect(backboneWords(false, null)).toMatch(/frozen/);
    expect(backboneWords(true, { layers: 'top', cut: 'block_13_project_BN' })).toMatch(/top layers, those above block_13_project_BN, fine-tuned .* rest frozen/);
    expect(backboneWords(true, { layers: 'whole', cut: null })).toMatch(/every layer fine-tuned/);
    expect(backboneWords(true, undefined)).toBe(' (fine-tuned)'); // a run from before the layers were recorded
  });
});
