// Writes a finished (or crashed) run folder for tests through the same writer training uses, so a
// fixture can never drift from what the reader accepts. The numbers in it follow from `items`.
import * as tf from '@tensorflow/tfjs';
import { argmax } from '../../shared/argmax';
import { getBackbone } from '../backbones/catalog';
import type { SavedPrediction } from './format';
import { openRunWriter } from './writer';

export interface TestRun {
  classes: string[];
  items: SavedPrediction[];
  backbone?: string;
  /** The photo folder it claims to be trained on. */
  root?: string;
  tta?: boolean;
  /** The head to save; default an untrained dense softmax on the backbone's features. */
  head?: tf.LayersModel;
  /** A fine-tuned feature model to save beside the head. */
  tunedBackbone?: tf.LayersModel;
  /** Stop before the result is written, as a crash would: only the hidden partial folder exists. */
  unfinished?: boolean;
}

function scoreOf(items: SavedPrediction[], classes: string[]): { accuracy: number; loss: number } | null {
  if (items.length === 0) return null;
  const right = items.filter((i) => argmax(i.probabilities) === classes.indexOf(i.label)).length;
  const loss = items.reduce((sum, i) => sum - Math.log(Math.max(i.probabilities[classes.indexOf(i.label)]!, 1e-7)), 0) / items.length;
  return { accuracy: right / items.length, loss };
}

export async function writeTestRun(dir: string, run: TestRun): Promise<string> {
  const spec = getBackbone(run.backbone ?? 'mobilenet_v1_025');
  const { classes, items } = run;
  const root = run.root ?? '/photos';
  const tta = run.tta ?? false;
  const count = (split: SavedPrediction['split']) => items.filter((i) => i.split === split);
  const valid = scoreOf(count('valid'), classes) ?? { accuracy: 0, loss: 0 };
  const test = scoreOf(count('test'), classes);
  const epochs = [{ epoch: 1, trainLoss: valid.loss, validLoss: valid.loss, accuracy: valid.accuracy, seconds: 0, stage: 'head' as const }];
  const headSpec = { inputDim: spec.featureSize, classes: classes.length, hidden: 0, dropout: 0 };

  await tf.ready(); // the default head is made with tfjs layers
  const writer = await openRunWriter(dir);
  await writer.writeConfig({
    root,
    backbone: spec.id,
    classes,
    lr: 0.01,
    lrSource: 'given',
    epochs: 1,
    head: { hidden: 0, dropout: 0 },
    batchSize: 32,
    weightDecay: 0,
    labelSmoothing: 0,
    augmentedViews: 0,
    tta,
    bestEpochBy: 'lowest validation loss',
  });
  await writer.appendEpoch(epochs[0]!);
  await writer.writePredictions({ classes, items });
  const head = run.head ?? tf.sequential({ layers: [tf.layers.dense({ units: classes.length, inputShape: [spec.featureSize], activation: 'softmax', name: 'classes' })] });
  await writer.writeHead(head);
  if (!run.head) head.dispose();
  if (run.tunedBackbone) await writer.writeBackbone(run.tunedBackbone);
  await writer.writeMetadata({ spec, labels: classes, head: headSpec, fineTuned: run.tunedBackbone !== undefined, tta, metrics: { valid, test, bestEpoch: 1 } });
  if (run.unfinished) return writer.dir;
  await writer.finish({
    runId: 'test-run',
    runDir: writer.dir,
    backend: 'test',
    backbone: spec.id,
    classes,
    lr: 0.01,
    images: { train: count('train').length, valid: count('valid').length, test: count('test').length },
    epochs,
    bestEpoch: 1,
    valid,
    test,
    warnings: [],
    fineTune: null,
    seconds: { scan: 0, features: 0, train: 0, fineTune: 0, total: 0 },
  });
  return writer.dir;
}
