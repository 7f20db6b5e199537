// The top fine-tuning estimate behind --fine-tune auto: it counts the activations still to compute,
// and a folder far too big for the budget is 'off' without timing anything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackbone } from '../backbones/catalog';
import { withBackend } from '../compute';
import { computeActivations } from '../features';
import { makePhotos } from './photos.test-helpers';
import { prepare } from './steps/prepare';
import { clearlyTooBig, estimateTop } from './top-estimate';

let tmp: string;
const ctx = { job: 'estimate', signal: new AbortController().signal, emit: () => undefined };

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-top-estimate-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the top fine-tuning estimate', () => {
  it('counts the activations still to compute, and none once they are cached', async () => {
    const spec = getBackbone('mobilenet_v1_025');
    const root = path.join(tmp, 'photos');
    await makePhotos(root, 6);
    const { features } = await prepare({ root, backbone: spec.id, seed: 1, validFraction: 0.25 }, ctx);
    const photos = { train: features.train.images, valid: features.valid.images, test: features.test.images, tta: true };
    const views = photos.train.length + 2 * (photos.valid.length + photos.test.length);
    const cold = await estimateTop(spec, photos);
    expect(cold).toMatchObject({ missing: views, cut: 'conv_pw_12_relu', fits: true });
    expect(cold.activationSeconds).toBeGreaterThan(0);
    expect(cold.photosPerSecond).toBeGreaterThan(0);
    await withBackend('inference', () => computeActivations(features, { cut: cold.cut, shape: [7, 7, 256] }));
    const warm = await estimateTop(spec, photos);
    expect(warm).toMatchObject({ missing: 0, activationSeconds: 0 });
    expect(warm.seconds).toBeLessThan(cold.seconds);

    // Many photos whose activations are all missing: over the budget even at the fastest paces, which
    // is said without timing a step (so at those paces, not a measured one).
    const many = Array.from({ length: 1400 }, () => photos.train).flat().map((image, i) => ({ ...image, id: `${image.id}-${i}` }));
    const big = await estimateTop(spec, { ...photos, train: many });
    expect(big).toMatchObject({ fits: false, photosPerSecond: 400 });
    expect(big.missing).toBe(many.length); // the checking photos' activations were cached above
  });

  it('calls a folder too big for the budget at any plausible pace, and not a small one', () => {
    expect(clearlyTooBig(2000)).toBe(false);
    expect(clearlyTooBig(50_000)).toBe(true);
  });
});
