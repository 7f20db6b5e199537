// `foldwise train <folder> --out <run dir>`: train a classifier on a folder of photos and write the
// run folder. Epoch lines and progress bars for people; one JSON object with --json.
import type { Command } from 'commander';
import { DEFAULT_BACKBONE, DEFAULT_EPOCHS } from '../../shared/defaults';
import type { EpochMetrics, TrainConfigInput, TrainResult } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';
import { reportFailure } from '../output';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatEpoch(m: EpochMetrics): string {
  const stage = m.stage === 'fine-tune' ? ' (fine-tune)' : '';
  return `epoch ${String(m.epoch).padStart(3)}${stage}  train loss ${m.trainLoss.toFixed(4)}  valid loss ${m.validLoss.toFixed(4)}  accuracy ${pct(m.accuracy)}  ${m.seconds.toFixed(1)}s\n`;
}

export function formatResult(r: TrainResult): string {
  const lines = [
    '',
    `Classes: ${r.classes.join(', ')}  (${r.images.train} train, ${r.images.valid} valid, ${r.images.test} test photos)`,
    `Backbone ${r.backbone} on ${r.backend}; learning rate ${r.lr.toPrecision(2)}; kept epoch ${r.bestEpoch}`,
    `Validation: accuracy ${pct(r.valid.accuracy)}, loss ${r.valid.loss.toFixed(4)}`,
    r.test ? `Test (scored once, at the end): accuracy ${pct(r.test.accuracy)}, loss ${r.test.loss.toFixed(4)}` : 'No test split.',
    fineTuneLine(r),
    `Time: ${r.seconds.total.toFixed(1)}s (scan ${r.seconds.scan.toFixed(1)}s, features ${r.seconds.features.toFixed(1)}s, training ${r.seconds.train.toFixed(1)}s${r.seconds.fineTune > 0 ? `, of which fine-tuning ${r.seconds.fineTune.toFixed(1)}s` : ''})`,
    ...r.warnings.map((w) => `Warning: ${w}`),
    `Run saved in ${r.runDir}`,
    '',
  ];
  return lines.join('\n');
}

function fineTuneLine(r: TrainResult): string {
  const f = r.fineTune;
  if (!f) return 'Fine-tuning: none (the backbone is the stock one).';
  const layers = f.layers === 'top' ? `the top of the backbone (above ${f.cut})` : 'the whole backbone';
  return `Fine-tuning: ${layers}, ${f.epochs} epochs at ${f.photosPerSecond.toFixed(0)} photos/s; ${f.kept ? 'kept (it lowered the validation loss)' : 'not kept (it did not lower the validation loss)'}.`;
}

const FINE_TUNE_CHOICES = ['off', 'top', 'whole', 'auto'] as const;

interface Options {
  out?: string;
  backbone: string;
  epochs?: string;
  lr: string;
  seed: string;
  /** A value, or true for a bare --fine-tune (what it meant before there were choices: the whole backbone). */
  fineTune?: string | boolean;
  augment?: boolean;
  labelSmoothing?: string;
  json?: boolean;
}

/** Options as a TrainConfig, or a sentence saying which option is wrong. */
export function parseTrainOptions(folder: string, o: Options): TrainConfigInput | string {
  const epochs = o.epochs === undefined ? undefined : Number(o.epochs);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0)) return `--epochs must be a whole number above 0, not "${o.epochs}".`;
  const lr = o.lr === 'auto' ? 'auto' : Number(o.lr);
  if (lr !== 'auto' && !(lr > 0 && Number.isFinite(lr))) return `--lr must be "auto" or a number above 0 such as 0.003, not "${o.lr}".`;
  const seed = Number(o.seed);
  if (!Number.isInteger(seed)) return `--seed must be a whole number, not "${o.seed}".`;
  const labelSmoothing = o.labelSmoothing === undefined ? undefined : Number(o.labelSmoothing);
  if (labelSmoothing !== undefined && !(labelSmoothing >= 0 && labelSmoothing <= 0.5)) return `--label-smoothing must be between 0 and 0.5, not "${o.labelSmoothing}".`;
  const fineTune = o.fineTune === undefined ? 'auto' : o.fineTune === true ? 'whole' : o.fineTune;
  if (!FINE_TUNE_CHOICES.includes(fineTune as (typeof FINE_TUNE_CHOICES)[number])) return `--fine-tune must be off, top, whole or auto, not "${String(o.fineTune)}".`;
  return { root: folder, out: o.out, backbone: o.backbone, epochs, lr, seed, fineTune: fineTune as (typeof FINE_TUNE_CHOICES)[number], augment: o.augment, labelSmoothing };
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train a classifier on a folder of photos and save the run (model, metrics, predictions).')
    .argument('<folder>', 'a folder with one sub-folder per class, or train/valid/test folders')
    .option('--out <run dir>', 'folder to write the run to (replaced only when training finishes)')
    .option('--backbone <id>', 'backbone: mobilenet_pair (both MobileNets), mobilenet_v2_035, mobilenet_v1_075 or mobilenet_v1_025', DEFAULT_BACKBONE)
    .option('--epochs <n>', `epochs of head training (default ${DEFAULT_EPOCHS}, fewer for folders of thousands of photos)`)
    .option('--lr <x|auto>', 'maximum learning rate, or auto to use the learning-rate finder', 'auto')
    .option('--seed <n>', 'random seed: the same seed gives the same model', '42')
    .option(
      '--fine-tune [layers]',
      'after the head, also train backbone layers: off, top (its last blocks, from cached activations), whole (slow without a GPU; the time is estimated first) or auto (default: top when it fits the time budget)',
    )
    .option('--augment', 'also train on augmented views of the training photos (slower on a cold cache)')
    .option('--no-augment', 'train on the centre crop only')
    .option('--label-smoothing <x>', 'label smoothing, 0 to 0.5 (default 0)')
    .option('--json', 'print one JSON object with the results')
    .action(async (folder: string, opts: Options) => {
      const json = Boolean(opts.json);
      const config = parseTrainOptions(folder, opts);
      if (typeof config === 'string') return reportFailure(new Error(config), json);
      const client = startLocalEngine();
      try {
        if ((config.fineTune === 'whole' || config.fineTune === 'top') && !json) {
          const estimate = await client.call('train/estimate-fine-tune', config);
          process.stderr.write(`${estimate.message}\n`);
        }
      } catch (error) {
        return reportFailure(error, json);
      }
      const handle = client.call('train/run', config);
      const offEpoch = client.on('train/epoch', (e) => {
        if (e.job === handle.job && !json) process.stdout.write(formatEpoch(e.metrics));
      });
      try {
        await runJob(client, handle, { json, format: formatResult });
      } finally {
        offEpoch();
      }
    });
}
