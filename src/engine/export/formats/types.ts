// One module per export format. Adding a format (TFLite, Core ML ...) means one more module that
// writes its files and can load them back with that format's own stock runtime for verification.
import type { ExportFormat, StructureCheck } from '../../../shared/types';
import type { ExportGraph } from '../graph';
import type { ExportMetadata } from '../metadata';

/** A loaded exported model: pixels 0-255 NHWC float32 in, probabilities out. */
export interface Runner {
  /** What loaded it, e.g. 'onnxruntime-node' or 'tfjs-wasm'. */
  runtime: string;
  /** Side of the square input, in pixels. */
  inputSize: number;
  run(pixels: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

/** Something started before the files exist (worker threads, a runtime), that loads them once written. */
export interface Loader {
  load(dir: string): Promise<Runner>;
  /**
   * Frees what was started; also frees a runner it made. Resolves once its worker threads have exited,
   * so that an export ends with its memory given back rather than while threads are still tearing down.
   */
  dispose(): void | Promise<void>;
}

export interface LoadOptions {
  /** CPU threads to spread inference over, where the format's runtime is single-threaded here (TF.js on wasm). */
  threads?: number;
}

/**
 * How close the reloaded file must come to the app on the checking photos: a share of the same top
 * classes, and the largest (max) or average (mean, over photos) probability difference.
 */
export interface Tolerance {
  agreement: number;
  maxAbsDiff?: number;
  meanAbsDiff?: number;
  /** What to do instead when a file that rounds on purpose misses these, in the user's words. */
  advice?: string;
}

/** What some formats need beyond the graph: 8-bit TFLite measures its value ranges on training photos. */
export interface WriteContext {
  calibrationPhotos: string[];
  /** A calibration photo that could not be read: the export goes on without it and lists it. */
  onUnreadable?(file: string, reason: string): void;
}

export interface ModelFormat {
  id: ExportFormat;
  /** Name of the model file inside the export folder. */
  modelFile: string;
  inputName: string;
  outputName: string;
  /** Writes the model (the run's one export graph, see graph/types.ts) into `dir` (which exists); returns the file names written. */
  write(dir: string, graph: ExportGraph, meta: ExportMetadata, context?: WriteContext): Promise<string[]>;
  /** Loads what write() wrote, with the stock runtime of the format. */
  load(dir: string, opts?: LoadOptions): Promise<Runner>;
  /**
   * Optional: starts what load() needs before the files are written, so that a slow start (threads
   * that each boot a runtime) overlaps writing and decoding. Without it, export calls load().
   */
  prepareLoad?(opts: LoadOptions): Loader;
  /**
   * How close the reloaded file must come to the app (default: every top class the same and
   * probabilities within 1e-4). Looser only where the format rounds weights on purpose (float16).
   */
  tolerance?: Tolerance;
  /**
   * Only for formats that nothing here can run (Core ML needs an Apple system): checks the written
   * files' structure instead, and the export reports that predictions were not checked. Throws
   * (export/structure-invalid) when the checker refuses the file.
   */
  checkStructure?(dir: string): Promise<StructureCheck>;
}
