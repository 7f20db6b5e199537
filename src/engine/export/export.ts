// `foldwise export`: writes one self-contained model (backbone + head, preprocessing inside) in the
// chosen format into a hidden sibling folder, reloads it with the format's stock runtime, checks it
// against the app's own predictions, and only then moves it into place. A failed or cancelled
// export leaves the target folder as it was. A disk that is full, read-only or not the user's fails
// with a sentence naming the export folder (fs-errors.ts), checked for space before writing.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../../shared/rpc';
import type { ExportFormat, ExportResult, PredictionCheck, StructureCheck } from '../../shared/types';
import { defaultThreads } from '../features/extractor';
import { cardStats, confusionSvg, renderHtml, renderMarkdown } from './card';
import { buildRunGraph } from './graph/run';
import { FORMATS, type Loader, type ModelFormat, type Runner, type Tolerance } from './formats';
import { buildMetadata } from './metadata';
import { createPredictor, type Predictor } from './predictor';
import type { SavedPrediction } from '../interpret/review';
import { readRun } from '../run';
import { usageFiles, writeUsageFiles } from './snippets';
import { SAMPLE_COUNT, sampleOrder, writeSamples } from './samples';
import { estimateExportBytes } from './space';
import { ensureSpace, makeFolder, removeMadeFolder, withPlainFsErrors, type WritePlace } from '../fs-errors';
import { withBackend } from '../compute';
import { AGREEMENT_REQUIRED, MAX_ABS_DIFF_ALLOWED, verifyExport, type Verification } from './verify';

export interface ExportProgress {
  stage: 'export' | 'verify';
  done: number;
  total: number;
  message?: string;
}

export interface ExportOptions {
  format: ExportFormat;
  out: string;
  /** Most validation images to verify on (default 300). */
  maxImages?: number;
  signal?: AbortSignal;
  onProgress?: (p: ExportProgress) => void;
  /** Use this format module instead of the built-in one for `format` (tests, new formats in development). */
  formatModule?: ModelFormat;
}

export interface ExportReport extends ExportResult {
  /** Accuracy of the exported file on the verified images, and images that could not be read. */
  accuracy: number | null;
  skipped: { file: string; reason: string }[];
  runtime: { exported: string; app: string };
  /** Seconds spent in each stage, for benchmarks: join, write, reload, verify (decode + both models), document, move. */
  stages: Record<'join' | 'write' | 'reload' | 'verify' | 'document' | 'move', number>;
}

/** Images to verify on: the validation split, else test, else train (a run always has one). */
function verificationImages(items: SavedPrediction[], classes: string[], max: number): { path: string; label?: number }[] {
  for (const split of ['valid', 'test', 'train'] as const) {
    // Photos recorded without a path (an older run) cannot be decoded again, so cannot check anything.
    const chosen = items.filter((i): i is SavedPrediction & { path: string } => i.split === split && i.path !== undefined);
    if (chosen.length > 0) {
      return chosen.slice(0, max).map((i) => ({
        path: i.path,
        label: classes.indexOf(i.label) >= 0 ? classes.indexOf(i.label) : undefined,
        recorded: i.id ? { id: i.id, probabilities: i.probabilities } : undefined,
      }));
    }
  }
  return [];
}

/** Up to 32 training photos, the classes taking turns, for formats that measure value ranges (8-bit TFLite). */
function calibrationPhotos(items: SavedPrediction[]): string[] {
  const byClass = new Map<string, string[]>();
  for (const i of items) {
    if (i.split !== 'train' || i.path === undefined) continue;
    if (!byClass.has(i.label)) byClass.set(i.label, []);
    byClass.get(i.label)!.push(i.path);
  }
  const lists = [...byClass.values()];
  const chosen: string[] = [];
  for (let k = 0; chosen.length < CALIBRATION_PHOTOS && lists.some((l) => k < l.length); k++) for (const l of lists) if (k < l.length) chosen.push(l[k]!);
  return chosen.slice(0, CALIBRATION_PHOTOS);
}
// 16, 32, 64 and 120 gave the same agreement (99.3%) and mean difference (0.006-0.008) on the pair; 64 took 6.4 s, 32 3.4 s.
const CALIBRATION_PHOTOS = 32;

/** Joins, writes, reloads and verifies the export; an inference job of the compute owner (a phase of one, when called inside a job). */
export function exportModel(runDir: string, opts: ExportOptions): Promise<ExportReport> {
  // Every write error speaks of the export folder (with the size once it is known), not of the hidden partial one.
  const place: WritePlace = { folder: path.resolve(opts.out) };
  return withBackend('inference', () => withPlainFsErrors(() => place, () => exportNow(runDir, opts, place)));
}

async function exportNow(runDir: string, opts: ExportOptions, place: WritePlace): Promise<ExportReport> {
  const started = performance.now();
  const format = opts.formatModule ?? FORMATS[opts.format];
  if (!format) throw new EngineError('export/unknown-format', `Foldwise cannot export "${opts.format}". Choose one of: ${Object.keys(FORMATS).join(', ')}.`);
  const run = await readRun(runDir);
  const target = path.resolve(opts.out);
  await checkTarget(target);
  const progress = (p: ExportProgress) => opts.onProgress?.(p);
  const images = verificationImages(run.predictions, run.classes, opts.maxImages ?? 300);
  if (images.length === 0) {
    throw new EngineError('export/nothing-to-verify', `The run in ${run.dir} lists no saved predictions of its photos, so the export cannot be checked. Train the model again.`);
  }

  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}-${Date.now().toString(36)}`);
  // The target's missing parents are made with it; a failure removes them again (removeMadeFolder).
  const made = await makeFolder(tmp);
  // Stage times for benchmarks; 'reload' runs alongside 'verify' (photos are decoded while it starts).
  const stages = { join: 0, write: 0, reload: 0, verify: 0, document: 0, move: 0 };
  let lap = performance.now();
  const endStage = (stage: keyof typeof stages) => {
    const now = performance.now();
    stages[stage] = Number(((now - lap) / 1000).toFixed(3));
    lap = now;
  };
  // Set once the reload finishes (inside verification), so that every way out disposes it.
  const reloaded: { runner: Runner | null } = { runner: null };
  let reference: Predictor | null = null;
  // The runtime that will reload the export starts now (TF.js: a worker thread per extra core, each
  // booting tfjs, which takes a second), so that its start overlaps joining, writing and decoding photos.
  const loader: Loader = format.prepareLoad?.({ threads: defaultThreads() }) ?? { load: (dir) => format.load(dir), dispose: () => undefined };
  try {
    progress({ stage: 'export', done: 0, total: 3, message: 'joining backbone and head' });
    // The one export graph (batch norms and paddings folded once) that every format writes.
    const classifier = await buildRunGraph(run);
    const meta = buildMetadata({ format: format.id, modelFile: format.modelFile, run, spec: classifier.spec, inputName: format.inputName, outputName: format.outputName });
    const samplePhotos = sampleOrder(images).slice(0, SAMPLE_COUNT).map((i) => i.path); // the ones copied, unless one cannot be read
    place.needBytes = await estimateExportBytes(classifier.graph, format.id, { samplePhotos, sampleCount: SAMPLE_COUNT, usage: usageFiles(meta) });
    await ensureSpace({ ...place, needBytes: place.needBytes });
    endStage('join');
    opts.signal?.throwIfAborted();
    progress({ stage: 'export', done: 1, total: 3, message: `writing ${format.modelFile}` });
    const calibrationSkipped: { file: string; reason: string }[] = [];
    const modelFiles = await format.write(tmp, classifier.graph, meta, {
      calibrationPhotos: calibrationPhotos(run.predictions),
      onUnreadable: (file, reason) => calibrationSkipped.push({ file, reason: `not used to calibrate the 8-bit model: ${reason}` }),
    });
    opts.signal?.throwIfAborted();
    endStage('write');

    // What is proven about the written file: the app's answers, from the file reloaded by the format's
    // own runtime; or, for a format nothing here can run (Core ML), its structure, checked by a validator.
    let checked: PredictionCheck | StructureCheck;
    let verified: Verification | null = null;
    let runner: Runner | null = null;
    if (format.checkStructure) {
      progress({ stage: 'verify', done: 0, total: 1, message: 'checking the structure of what was written' });
      checked = await format.checkStructure(tmp);
      progress({ stage: 'verify', done: 1, total: 1 });
      endStage('verify');
    } else {
      progress({ stage: 'export', done: 2, total: 3, message: 'reloading what was written' });
      const reloadStart = performance.now();
      const reloading = loader.load(tmp).then((r) => {
        reloaded.runner = r;
        stages.reload = Number(((performance.now() - reloadStart) / 1000).toFixed(3));
        return r;
      });
      verified = await verifyExport({
        runner: reloading,
        reference: async () => (reference = await createPredictor(run.dir)),
        labels: run.classes,
        recipe: classifier.spec.recipe,
        images,
        signal: opts.signal,
        onProgress: (done, total) => progress({ stage: 'verify', done, total }),
      });
      if (verified.images === 0) {
        throw new EngineError('export/nothing-to-verify', `None of the ${images.length} validation images of the run could be read (first problem: ${verified.skipped[0]?.file}: ${verified.skipped[0]?.reason}). Were they moved?`);
      }
      const tolerance: Tolerance = format.tolerance ?? { agreement: AGREEMENT_REQUIRED, maxAbsDiff: MAX_ABS_DIFF_ALLOWED };
      const within = (value: number, allowed: number | undefined) => allowed === undefined || value <= allowed; // NaN is never within
      if (verified.agreement < tolerance.agreement || !within(verified.maxAbsDiff, tolerance.maxAbsDiff) || !within(verified.meanAbsDiff, tolerance.meanAbsDiff)) {
        const allowed = (n: number | undefined) => (n === undefined ? '' : ` (allowed ${n})`);
        throw new EngineError(
          'export/verify-failed',
          `The exported ${format.id} model does not predict what the app predicts: on ${verified.images} images it agrees on ${(verified.agreement * 100).toFixed(1)}% ` +
            `(needs ${tolerance.agreement * 100}%) and probabilities differ by up to ${verified.maxAbsDiff.toExponential(2)}${allowed(tolerance.maxAbsDiff)}, ` +
            `${verified.meanAbsDiff.toExponential(2)} on average${allowed(tolerance.meanAbsDiff)}. Nothing was written.${tolerance.advice ? ` ${tolerance.advice}` : ''}`,
          { images: verified.images, agreement: verified.agreement, maxAbsDiff: verified.maxAbsDiff, meanAbsDiff: verified.meanAbsDiff },
        );
      }
      endStage('verify');
      runner = await reloading;
      checked = { kind: 'predictions', images: verified.images, agreement: verified.agreement, maxAbsDiff: verified.maxAbsDiff, meanAbsDiff: verified.meanAbsDiff };
    }

    // Documentation of what was proven: metadata, model card, usage files.
    const stats = cardStats(run.classes, run.predictions);
    const usage = usageFiles(meta);
    const extra: string[] = [];
    let picture: string | null = null;
    const svg = stats.valid ? confusionSvg(run.classes, stats.valid.confusion) : null;
    if (svg !== null) {
      await fs.promises.writeFile(path.join(tmp, 'confusion-matrix.svg'), svg);
      picture = 'confusion-matrix.svg';
      extra.push(picture);
    }
    const fullMeta = { ...meta, verified: verified && runner ? { ...checked, accuracy: verified.accuracy, runtime: runner.runtime } : checked };
    await fs.promises.writeFile(path.join(tmp, 'metadata.json'), JSON.stringify(fullMeta, null, 2));
    // Golden samples: a few checking photos with the app's and the file's answers, for the snippets' --check mode.
    const k = run.classes.length;
    const checkedRows = verified;
    const model = checkedRows ? new Map(checkedRows.files.map((f, i) => [f, Array.from(checkedRows.probabilities.subarray(i * k, (i + 1) * k))])) : undefined;
    const samples = await writeSamples(tmp, { images, labels: run.classes, recipe: classifier.spec.recipe, reference: () => createPredictor(run.dir), model });
    extra.push(...samples);
    const cardFiles = ['metadata.json', 'MODEL_CARD.md', 'MODEL_CARD.html'];
    const cardInput = { meta, stats, verified: checked.kind === 'structure' ? checked : { ...checked, accuracy: verified?.accuracy ?? null }, files: [...modelFiles, ...cardFiles, ...extra], usage, confusionPicture: picture, trainedLayers: run.metadata.fineTune };
    await fs.promises.writeFile(path.join(tmp, 'MODEL_CARD.md'), renderMarkdown(cardInput));
    await fs.promises.writeFile(path.join(tmp, 'MODEL_CARD.html'), renderHtml(cardInput, svg));
    const usageWritten = await writeUsageFiles(tmp, usage);
    opts.signal?.throwIfAborted();
    endStage('document');

    const runtimes = {
      exported: runner?.runtime ?? `not run: ${checked.kind === 'structure' ? checked.summary : ''}`,
      app: reference ? (reference as Predictor).runtime : 'predictions recorded at training',
    };
    runner?.dispose();
    reloaded.runner = null;
    reference = null; // verifyExport disposed it
    await moveIntoPlace(tmp, target);
    endStage('move');
    progress({ stage: 'export', done: 3, total: 3, message: 'done' });
    return {
      format: format.id,
      out: target,
      files: [...modelFiles, ...cardFiles, ...extra, ...usageWritten],
      seconds: (performance.now() - started) / 1000,
      verified: checked,
      accuracy: verified?.accuracy ?? null,
      skipped: [...calibrationSkipped, ...(verified?.skipped ?? [])],
      runtime: runtimes,
      stages,
    };
  } catch (error) {
    await removeMadeFolder(tmp, made);
    throw error;
  } finally {
    reloaded.runner?.dispose();
    await loader.dispose();
  }
}

/** What is already at the target: nothing, an empty folder or an earlier export may be replaced. */
async function checkTarget(target: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(target);
  } catch {
    return; // its parent is made with the hidden partial folder, and removed with it on failure
  }
  if (!stat.isDirectory()) throw new EngineError('export/target-is-file', `${target} is a file. Choose a folder name for the export.`);
  const entries = await fs.promises.readdir(target);
  if (entries.length === 0) return;
  const meta = path.join(target, 'metadata.json');
  const earlierExport = fs.existsSync(meta) && Object.values(FORMATS).some((f) => fs.existsSync(path.join(target, f.modelFile)));
  if (!earlierExport) {
    throw new EngineError('export/target-not-empty', `${target} already holds other files. Choose a new or empty folder for the export (an earlier Foldwise export there would be replaced).`, { target });
  }
}

/** Replaces target with the finished folder; an earlier export is removed only once the new one is in place. */
async function moveIntoPlace(tmp: string, target: string): Promise<void> {
  if (!fs.existsSync(target)) {
    await fs.promises.rename(tmp, target);
    return;
  }
  const old = `${tmp}.old`;
  await fs.promises.rename(target, old);
  try {
    await fs.promises.rename(tmp, target);
  } catch (error) {
    await fs.promises.rename(old, target);
    throw error;
  }
  await fs.promises.rm(old, { recursive: true, force: true });
}
