// `foldwise train`'s options as a TrainConfig: the fine-tuning choices, the old bare flag, and a wrong value named.
import { describe, expect, it } from 'vitest';
import { TrainConfig } from '../../shared/schemas';
import { formatResult, parseTrainOptions } from './train';

const base = { backbone: 'mobilenet_v2_035', lr: 'auto', seed: '42' };

describe('foldwise train options', () => {
  it('takes --fine-tune off|top|whole|auto, auto when left out and whole for the bare flag of older scripts', () => {
    const layers = (fineTune?: string | boolean) => {
      const config = parseTrainOptions('photos', { ...base, fineTune });
      return typeof config === 'string' ? config : TrainConfig.parse(config).fineTune;
    };
    expect([layers(), layers('off'), layers('top'), layers('whole'), layers(true)]).toEqual(['auto', 'off', 'top', 'whole', 'whole']);
    expect(layers('all')).toBe('--fine-tune must be off, top, whole or auto, not "all".');
  });

  it('says what fine-tuning did, or that there was none', () => {
    const result = { runId: 'r', runDir: '/runs/r', backend: 'wasm', backbone: 'mobilenet_v2_035', classes: ['a', 'b'], lr: 0.003, images: { train: 8, valid: 2, test: 0 }, epochs: [], bestEpoch: 3, valid: { accuracy: 0.9, loss: 0.3 }, test: null, warnings: [] };
    const seconds = { scan: 1, features: 2, train: 30, fineTune: 25, total: 33 };
    const top = formatResult({ ...result, fineTune: { layers: 'top', cut: 'block_13_project_BN', epochs: 4, kept: true, photosPerSecond: 40 }, seconds });
    expect(top).toMatch(/Fine-tuning: the top of the backbone \(above block_13_project_BN\), 4 epochs at 40 photos\/s; kept/);
    expect(top).toMatch(/of which fine-tuning 25\.0s/);
    expect(formatResult({ ...result, fineTune: null, seconds: { ...seconds, fineTune: 0 } })).toMatch(/Fine-tuning: none/);
  });
});
