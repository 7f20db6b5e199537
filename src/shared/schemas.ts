// Runtime shapes of everything that crosses a process boundary. Types in types.ts are inferred
// from these, so the validator and the compiler can never disagree.
import { z } from 'zod';
import { DEFAULT_BACKBONE } from './defaults';

export const Split = z.enum(['train', 'valid', 'test']);
export const SplitCounts = z.object({ train: z.number().int(), valid: z.number().int(), test: z.number().int() });

export const SerializedError = z.object({ name: z.string(), message: z.string(), detail: z.unknown().optional() });

// ---- dataset -------------------------------------------------------------------------------

export const ProblemKind = z.enum([
  'corrupt', // decoder rejected the bytes
  'truncated', // decodable header, missing data
  'empty', // zero-byte file
  'not-an-image', // text or other document with an image extension
  'too-large', // decompression bomb: pixel count over the cap
  'too-small', // too few pixels to learn from
  'unreadable', // permission or I/O error
  'unsupported', // a real image format we cannot decode here (e.g. HEIC without a decoder)
  'empty-class', // a class folder with no usable images
  'symlink-loop',
]);
export const DatasetProblem = z.object({ file: z.string(), kind: ProblemKind, message: z.string() });

export const DuplicateGroup = z.object({
  files: z.array(z.string()),
  exact: z.boolean(),
  crossClass: z.boolean(),
  crossSplit: z.boolean(),
});

export const WarningKind = z.enum(['few-images', 'too-few-images', 'imbalance', 'one-class', 'label-conflict', 'leak', 'ignored-files', 'cache-remade']);
export const DatasetWarning = z.object({ kind: WarningKind, message: z.string(), class: z.string().optional() });

/** One usable photo. `file` is relative to the dataset root, with `/`. `id` is its content hash. */
export const DatasetImage = z.object({
  file: z.string(),
  label: z.string(),
  split: Split,
  id: z.string(),
  width: z.number().int(),
  height: z.number().int(),
});

export const ClassSummary = z.object({
  name: z.string(),
  images: SplitCounts,
  /** Content ids of a few thumbnails to show on the class card (see AppApi.imageUrl). */
  thumbnails: z.array(z.string()).optional(),
});

export const DatasetSummary = z.object({
  root: z.string(),
  layout: z.enum(['classes', 'splits']),
  classes: z.array(ClassSummary),
  images: z.number().int(),
  problems: z.array(DatasetProblem),
  duplicates: z.array(DuplicateGroup),
  warnings: z.array(DatasetWarning),
  /** Files skipped on purpose (.DS_Store, hidden files, documents): counted, not errors. */
  ignored: z.number().int().optional(),
  /** True when the split came from the folders; false when Foldwise made a stratified one. */
  splitFromFolders: z.boolean().optional(),
});

/** User edits kept in the project: they change what training sees, never the user's files. */
export const DatasetEdits = z.object({
  exclude: z.array(z.string()).default([]),
  relabel: z.record(z.string(), z.string()).default({}),
});

// ---- backend and backbones ------------------------------------------------------------------

/** The graphics card the WebGPU backend runs on. */
export const GpuAdapter = z.object({
  /** As the driver names it, e.g. "NVIDIA GeForce RTX 4060 Laptop GPU". */
  name: z.string(),
  api: z.enum(['Vulkan', 'Direct3D 12', 'Metal']),
  /** A software rasteriser (SwiftShader, llvmpipe): only ever used when asked for. */
  software: z.boolean(),
});

export const BackendInfo = z.object({
  /** What runs inference and gradients ('cpu': plain JavaScript, when even WebAssembly failed to start). */
  name: z.enum(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']),
  gradients: z.enum(['tensorflow-gpu', 'webgpu', 'tensorflow', 'cpu']),
  /** Badge text: GPU, CPU or WASM. */
  badge: z.enum(['GPU', 'CPU', 'WASM']),
  /** The graphics card, when the backend is WebGPU. */
  gpu: GpuAdapter.optional(),
  /** One sentence per better backend that was not taken, in words a non-coder can act on. */
  reasons: z.array(z.string()),
  threads: z.number().int(),
});

/** What a long session is watched with ('engine/health'): none of it should grow from one job to the next. */
export const EngineHealth = z.object({
  /** Tensors tfjs holds in the engine's main thread (every backend together). */
  tensors: z.number().int(),
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
  /** Open file descriptors (files, sockets, pipes); null where the system does not list them (/proc/self/fd). */
  openFiles: z.number().int().nullable(),
});

export const BackboneInfo = z.object({
  id: z.string(),
  name: z.string(),
  /** One or two sentences for the picker: what it is good for and what it costs. */
  description: z.string(),
  inputSize: z.number().int(),
  featureSize: z.number().int(),
  available: z.boolean(),
  /** Where it was found: bundled, cache, or missing. */
  source: z.enum(['bundled', 'cache', 'shared', 'missing']),
  /** Whether its last layers can be fine-tuned on their own (not for two models side by side). */
  tunableTop: z.boolean(),
});

// ---- training ---------------------------------------------------------------------------------

export const FineTuneChoice = z.enum(['off', 'top', 'whole', 'auto']);
type FineTuneChoice = z.infer<typeof FineTuneChoice>;

/** What fine-tuning did in a run: which layers trained, where the backbone was cut (top only), and whether it was kept. */
export const FineTuneSummary = z.object({
  layers: z.enum(['top', 'whole']),
  cut: z.string().nullable(),
  epochs: z.number().int().nonnegative(),
  kept: z.boolean(),
  photosPerSecond: z.number().nonnegative(),
});

export const TrainConfig = z.object({
  root: z.string(),
  /** Run folder to write; defaults to <project>/runs/<id>. */
  out: z.string().optional(),
  backbone: z.string().default(DEFAULT_BACKBONE),
  epochs: z.number().int().positive().optional(),
  lr: z.union([z.number().positive(), z.literal('auto')]).default('auto'),
  seed: z.number().int().default(42),
  /**
   * Which backbone layers train after the head: none, the top blocks from cached activations, or the
   * whole network; 'auto' (the default) means top when its estimate fits the time budget. Older
   * callers and saved projects sent a boolean: true was the whole network, false none.
   */
  fineTune: z
    .union([FineTuneChoice, z.boolean()])
    .default('auto')
    .transform((v): FineTuneChoice => (v === true ? 'whole' : v === false ? 'off' : v)),
  augment: z.boolean().optional(),
  tta: z.boolean().optional(),
  labelSmoothing: z.number().min(0).max(0.5).optional(),
  validFraction: z.number().min(0.05).max(0.5).optional(),
  edits: DatasetEdits.optional(),
});

export const LrFindConfig = TrainConfig.pick({ root: true, backbone: true, seed: true, augment: true, validFraction: true, edits: true });

export const LrCurve = z.object({
  suggestion: z.number(),
  /** Which of the suggestions `suggestion` is. */
  chosen: z.enum(['valley', 'steep', 'minimum']),
  suggestions: z.object({ valley: z.number(), steep: z.number(), minimum: z.number() }),
  curve: z.array(z.object({ lr: z.number(), loss: z.number() })),
});

export const EpochMetrics = z.object({
  epoch: z.number().int(),
  trainLoss: z.number(),
  validLoss: z.number(),
  accuracy: z.number(),
  trainAccuracy: z.number().optional(),
  seconds: z.number(),
  lr: z.number().optional(),
  stage: z.enum(['head', 'fine-tune']).optional(),
});

export const Accuracy = z.object({ accuracy: z.number(), loss: z.number() });

export const TrainResult = z.object({
  runId: z.string(),
  runDir: z.string(),
  backend: z.string(),
  backbone: z.string(),
  classes: z.array(z.string()),
  lr: z.number(),
  images: SplitCounts,
  epochs: z.array(EpochMetrics),
  bestEpoch: z.number().int(),
  valid: Accuracy,
  test: Accuracy.nullable(),
  warnings: z.array(z.string()),
  /** Null when no fine-tuning ran (and in results written before it was recorded). */
  fineTune: FineTuneSummary.nullable().default(null),
  /** fineTune: the fine-tuning step alone (activations included), part of train; 0 when none ran. */
  seconds: z.object({ scan: z.number(), features: z.number(), train: z.number(), fineTune: z.number().default(0), total: z.number() }),
  /**
   * Cache files (scan index, thumbnails, features, activations, the backbone's ONNX conversion) that failed
   * their check and were made again: damaged (checksum, length or key wrong) or outdated (from another
   * Foldwise version). Absent in results written before it was counted.
   */
  cacheRemade: z.object({ damaged: z.number().int().nonnegative(), outdated: z.number().int().nonnegative() }).optional(),
});

export const FineTuneEstimate = z.object({
  seconds: z.number(),
  backend: z.string(),
  message: z.string(),
  /** The likely range around `seconds` (timing noise and the scaling from small test images). */
  low: z.number().optional(),
  high: z.number().optional(),
  /** How the number was found, in a sentence (what was timed, how it was scaled). */
  method: z.string().optional(),
});

// ---- review -----------------------------------------------------------------------------------

export const ReviewItem = z.object({
  file: z.string(),
  id: z.string(),
  split: Split,
  actual: z.string(),
  predicted: z.string(),
  /** Probability of the predicted class. */
  probability: z.number(),
  /** Cross-entropy of the actual class. */
  loss: z.number(),
  /** Top-1 minus top-2 probability: small means unsure. */
  margin: z.number(),
});

export const Interpretation = z.object({
  runDir: z.string(),
  classes: z.array(z.string()),
  /** confusion[actual][predicted] counts on the validation split. */
  confusion: z.array(z.array(z.number().int())),
  perClass: z.array(z.object({ name: z.string(), precision: z.number(), recall: z.number(), f1: z.number(), support: z.number().int() })),
  mostConfused: z.array(z.object({ actual: z.string(), predicted: z.string(), count: z.number().int() })),
  topLosses: z.array(ReviewItem),
  uncertain: z.array(ReviewItem),
  likelyMislabelled: z.array(ReviewItem),
  /** Every validation prediction, so a confusion cell can open its images. */
  predictions: z.array(ReviewItem),
  accuracy: z.number(),
});

export const Heatmap = z.object({
  file: z.string(),
  /** The app's answer for the photo (its mirror image averaged in when the run uses TTA), and how sure. */
  predicted: z.string(),
  probability: z.number(),
  classIndex: z.number().int(),
  /** PNG overlay, base64. */
  png: z.string(),
});

// ---- export and predict -----------------------------------------------------------------------

export const ExportFormat = z.enum(['tfjs', 'onnx', 'tflite', 'tflite-fp16', 'tflite-int8', 'coreml']);
/** The exported file, reloaded by its runtime, compared with the app's own answers on the checking photos. */
export const PredictionCheck = z.object({
  /** Absent in results written before structure checks existed. */
  kind: z.literal('predictions').optional(),
  images: z.number().int(),
  agreement: z.number(),
  maxAbsDiff: z.number(),
  /** Mean over images of each one's largest probability difference; absent in results written before 8-bit export. */
  meanAbsDiff: z.number().optional(),
});
/** Only the file's structure checked, for a format nothing here can run (Core ML needs an Apple system). */
export const StructureCheck = z.object({
  kind: z.literal('structure'),
  /** Who checked it, e.g. "Apple's Core ML validator". */
  checker: z.string(),
  /** The checker's answer, e.g. "VALID". */
  answer: z.string(),
  /** The plain sentence to show, e.g. "structure checked by Apple's validator; predictions not checked (needs a Mac)". */
  summary: z.string(),
  // Declared absent, so code that reads a prediction check's numbers gets undefined here, never a made-up number.
  images: z.undefined().optional(),
  agreement: z.undefined().optional(),
  maxAbsDiff: z.undefined().optional(),
  meanAbsDiff: z.undefined().optional(),
});
export const ExportResult = z.object({
  format: ExportFormat,
  out: z.string(),
  files: z.array(z.string()),
  seconds: z.number().optional(),
  verified: z.union([PredictionCheck, StructureCheck]),
  /** Photos that could not be read while checking (or, for 8-bit TFLite, calibrating), with why; absent in older results. */
  skipped: z.array(z.object({ file: z.string(), reason: z.string() })).optional(),
});

export const Prediction = z.object({
  file: z.string(),
  label: z.string().optional(),
  probabilities: z.record(z.string(), z.number()).optional(),
  error: z.string().optional(),
});

// ---- project ----------------------------------------------------------------------------------

export const RunSummary = z.object({
  runId: z.string(),
  runDir: z.string(),
  createdAt: z.string(),
  backbone: z.string(),
  accuracy: z.number().nullable(),
  status: z.enum(['done', 'cancelled', 'failed', 'running']),
});

/** A user's file moved to another class folder ("move file" on relabel); kept so it can be undone. */
export const FileMove = z.object({
  id: z.string(),
  /** Paths relative to the dataset root, with `/`. */
  from: z.string(),
  to: z.string(),
  movedAt: z.string(),
});

export const Project = z.object({
  version: z.literal(1),
  dir: z.string(),
  name: z.string(),
  root: z.string().nullable(),
  edits: DatasetEdits,
  lr: z.number().nullable(),
  backbone: z.string(),
  runs: z.array(RunSummary),
  step: z.string(),
  updatedAt: z.string(),
  /** Files moved on disk by "move file", newest last, so each can be undone. */
  moves: z.array(FileMove).default([]),
});

// ---- events -----------------------------------------------------------------------------------

export const Progress = z.object({
  /** The rpc call this progress belongs to. */
  job: z.string(),
  stage: z.enum(['scan', 'download', 'features', 'lr-find', 'train', 'fine-tune', 'save', 'evaluate', 'export', 'verify', 'predict']),
  done: z.number(),
  total: z.number(),
  etaSeconds: z.number().nullable().optional(),
  message: z.string().optional(),
});

export const BatchMetrics = z.object({
  job: z.string(),
  epoch: z.number().int(),
  batch: z.number().int(),
  batches: z.number().int(),
  /** Epochs of this stage: the head's are fewer than asked when a big folder was left to the default. */
  epochs: z.number().int().optional(),
  loss: z.number(),
  stage: z.enum(['head', 'fine-tune']).optional(),
});
export const EpochEvent = z.object({ job: z.string(), metrics: EpochMetrics });
export const Notice = z.object({ level: z.enum(['info', 'warning', 'error']), message: z.string() });
