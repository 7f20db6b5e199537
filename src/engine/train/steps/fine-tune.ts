// Step 3 (optional): unfreeze the backbone and train it with the head, validating after each epoch.
// Kept only when it beats the head alone on the validation photos; then the photos' features are
// recomputed through the tuned backbone, so the saved predictions are what the app will predict.
import type * as tf from '@tensorflow/tfjs';
import type { EpochMetrics } from '../../../shared/types';
import type { BackboneSpec } from '../../backbones/catalog';
import { withBackend } from '../../compute';
import type { DatasetFeatures, FeatureMatrix } from '../../features';
import { TRAIN_DEFAULTS } from '../defaults';
import { predictProbabilities, score } from '../evaluate';
import { embedImages, fineTune, loadTunableBackbone } from '../fine-tune';
import { reportProgress, type JobContext } from '../job';
import type { HeadStep } from './head';

/** The features predictions are made from: the cached ones, or the tuned backbone's. */
export interface PredictionFeatures {
  valid: FeatureMatrix;
  validFlip: FeatureMatrix | null;
  test: FeatureMatrix;
  testFlip: FeatureMatrix | null;
  train: FeatureMatrix;
}

export function cachedFeatures(features: DatasetFeatures): PredictionFeatures {
  return { valid: features.valid, validFlip: features.validFlip, test: features.test, testFlip: features.testFlip, train: features.train };
}

/** What every fine-tuning step (the whole network, or the top) starts from. */
export interface FineTuneInputs {
  spec: BackboneSpec;
  features: DatasetFeatures;
  /** The trained head; fine-tuning continues from it and leaves it as the kept epoch left it. */
  trained: HeadStep;
  seed: number;
  labelSmoothing: number;
  tta: boolean;
  /** Tests only: keep the tuned backbone even when it did not beat the head alone (to test what a fine-tuned run folder does). */
  alwaysKeep?: boolean;
  onEpoch(metrics: EpochMetrics): void;
}

export interface FineTuneStepOptions extends FineTuneInputs {
  /** Tests only: tune at this input size (same weights) so gradients through the trunk take seconds. */
  inputSize?: number;
}

export interface FineTuneStep {
  /** Every fine-tune epoch, kept or not. */
  epochs: EpochMetrics[];
  /** The tuned full-size feature model to save, or null when fine-tuning did not help (the head is then as before). */
  tuned: tf.LayersModel | null;
  bestEpoch: number;
  features: PredictionFeatures;
  warnings: string[];
}

export async function fineTuneBackbone(options: FineTuneStepOptions, ctx: JobContext): Promise<FineTuneStep> {
  const { spec, features, trained, tta } = options;
  const { head } = trained;
  const loaded = await loadTunableBackbone(spec, options.inputSize);
  let keep = false;
  try {
    // Validation during fine-tuning uses the model being tuned; final predictions the app's full-size one.
    const embedWith = (model: tf.LayersModel, s: BackboneSpec) => async (m: FeatureMatrix, flip = false): Promise<FeatureMatrix> => ({ ...m, data: await embedImages(model, s, m.images, { flip, signal: ctx.signal }) });
    const embedTuning = embedWith(loaded.tunable, loaded.spec);
    const embed = embedWith(loaded.model, spec);
    const headOnly = { weights: await head.snapshot(), loss: trained.epochs.find((e) => e.epoch === trained.bestEpoch)!.validLoss };
    const epochs = TRAIN_DEFAULTS.fineTuneEpochs;
    // Each epoch's check: its embeddings of the validation photos, in epoch order.
    const checks: { valid: FeatureMatrix; flip: FeatureMatrix | null }[] = [];
    const tuning = await withBackend('convolutions', () =>
      fineTune({
        backbone: loaded.tunable,
        spec: loaded.spec,
        head,
        train: { images: features.train.images, labels: features.train.labels },
        // Forward passes only: the faster inference backend, then back for the gradients.
        validate: () =>
          withBackend('inference', async () => {
            const valid = await embedTuning(features.valid);
            const flip = tta ? await embedTuning(features.valid, true) : null;
            checks.push({ valid, flip });
            return score(await predictProbabilities(head, valid, flip), valid.labels, features.classes.length);
          }),
        epochs,
        maxLr: trained.lr / 2,
        seed: options.seed,
        labelSmoothing: options.labelSmoothing,
        firstEpoch: trained.epochs.length + 1,
        signal: ctx.signal,
        waitIfPaused: ctx.waitIfPaused,
        onBatch: (b) => ctx.emit('train/batch', { job: ctx.job, ...b, stage: 'fine-tune' }),
        // Per photo: a batch takes over a minute on the CPU, too long for the bar to sit still. The
        // epoch comes from the photos done (each epoch is total / epochs of them), not from the last
        // finished batch, which still named the previous epoch during an epoch's first batch.
        onProgress: (p) => reportProgress(ctx, 'fine-tune', p.done, p.total, { etaSeconds: p.etaSeconds, message: `epoch ${Math.max(1, Math.ceil((p.done * epochs) / p.total))}/${epochs}` }),
        onEpoch: (metrics) => {
          ctx.emit('train/epoch', { job: ctx.job, metrics });
          options.onEpoch(metrics);
        },
      }),
    );
    const { kept } = tuning;
    if (kept.validLoss >= headOnly.loss && !options.alwaysKeep) {
      head.restore(headOnly.weights);
      const warning = `Fine-tuning did not lower the validation loss (${headOnly.loss.toFixed(3)} before, ${kept.validLoss.toFixed(3)} at best after), so Foldwise kept the model from epoch ${trained.bestEpoch} with the backbone unchanged.`;
      return { epochs: tuning.epochs, tuned: null, bestEpoch: trained.bestEpoch, features: cachedFeatures(features), warnings: [warning] };
    }
    // Tuned at full size, the kept epoch's check already embedded the validation photos as the app will.
    const checked = loaded.tunable === loaded.model ? checks[tuning.epochs.indexOf(kept)] : null;
    const tunedFeatures = await withBackend('inference', async () => ({
      valid: checked?.valid ?? (await embed(features.valid)),
      validFlip: tta ? (checked?.flip ?? (await embed(features.valid, true))) : null,
      test: await embed(features.test),
      testFlip: tta && features.test.images.length > 0 ? await embed(features.test, true) : null,
      train: await embed(features.train),
    }));
    keep = true;
    return { epochs: tuning.epochs, tuned: loaded.model, bestEpoch: kept.epoch, features: tunedFeatures, warnings: [] };
  } finally {
    // A small-input tunable model shares every weight with `model`: disposing that frees both.
    if (!keep) loaded.model.dispose();
  }
}
