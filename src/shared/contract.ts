// The one contract every process speaks. Each entry names its argument and result schema;
// EngineHandlers and EngineEvents are inferred from it, so adding a call is one line here.
import { z } from 'zod';
import * as S from './schemas';

const none = z.object({}).strict();
const runRef = z.object({ runDir: z.string() });

export const handlerSchemas = {
  'engine/info': { args: none, result: S.BackendInfo },
  /** Tensor count, memory and open files of the engine process: what stays flat over a long session. */
  'engine/health': { args: none, result: S.EngineHealth },
  'dataset/scan': { args: z.object({ root: z.string(), validFraction: z.number().optional() }), result: S.DatasetSummary },
  'dataset/browse': {
    args: z.object({ dir: z.string().optional() }),
    result: z.object({ dir: z.string(), parent: z.string().nullable(), folders: z.array(z.string()) }),
  },
  'backbone/list': { args: none, result: z.array(S.BackboneInfo) },
  'backbone/ensure': { args: z.object({ id: z.string() }), result: S.BackboneInfo },
  /** Offline computers: copy a backbone from a folder (model.json + weight files), checked against the catalog's digests. */
  'backbone/import': { args: z.object({ id: z.string(), folder: z.string() }), result: S.BackboneInfo },
  'train/find-lr': { args: S.LrFindConfig, result: S.LrCurve },
  'train/run': { args: S.TrainConfig, result: S.TrainResult },
  'train/pause': { args: z.object({ job: z.string(), paused: z.boolean() }), result: z.object({ paused: z.boolean() }) },
  'train/estimate-fine-tune': { args: S.TrainConfig, result: S.FineTuneEstimate },
  'review/evaluate': { args: runRef, result: S.Interpretation },
  'review/heatmap': { args: runRef.extend({ file: z.string(), classIndex: z.number().int().optional() }), result: S.Heatmap },
  'model/export': { args: runRef.extend({ format: S.ExportFormat, out: z.string() }), result: S.ExportResult },
  'model/predict': { args: z.object({ model: z.string(), files: z.array(z.string()) }), result: z.array(S.Prediction) },
  'project/open': { args: z.object({ dir: z.string() }), result: S.Project },
  'project/save': { args: z.object({ project: S.Project }), result: S.Project },
  'project/recent': { args: none, result: z.array(z.object({ dir: z.string(), name: z.string(), updatedAt: z.string() })) },
  /** Moves a user's file into another class folder (relabel with "move file"); the move is recorded in the project for undo. */
  'project/move-file': {
    args: z.object({ dir: z.string(), file: z.string(), label: z.string() }),
    result: z.object({ project: S.Project, move: S.FileMove }),
  },
  /** Puts a moved file back where it was and drops the record. */
  'project/undo-move': { args: z.object({ dir: z.string(), id: z.string() }), result: z.object({ project: S.Project, move: S.FileMove }) },
} as const;

export const eventSchemas = {
  'job/progress': S.Progress,
  'train/batch': S.BatchMetrics,
  'train/epoch': S.EpochEvent,
  'engine/notice': S.Notice,
  /** From the desktop app's menu (File > Open Folder…), not from the engine: the user picked this folder of photos. */
  'app/open-folder': z.object({ root: z.string().min(1) }),
} as const;

type HS = typeof handlerSchemas;
export type HandlerName = keyof HS;
export type ArgsOf<K extends HandlerName> = z.input<HS[K]['args']>;
export type ResultOf<K extends HandlerName> = z.output<HS[K]['result']>;

/** What a caller sees: one args object in, a promise out. */
export type EngineHandlers = { [K in HandlerName]: (args: ArgsOf<K>) => Promise<ResultOf<K>> };

export type EventName = keyof typeof eventSchemas;
export type EngineEvents = { [K in EventName]: z.output<(typeof eventSchemas)[K]> };

/**
 * What the renderer may do: window.foldwise in Electron, a WebSocket client in browser mode.
 * The renderer's ipc.ts is the only file that touches it.
 */
export interface AppApi {
  call<K extends HandlerName>(name: K, args: ArgsOf<K>): CallHandle<ResultOf<K>>;
  on<E extends EventName>(event: E, listener: (payload: EngineEvents[E]) => void): () => void;
  /** URL for a cached thumbnail or a file inside the project's cache. */
  imageUrl(id: string): string;
  /** Native folder dialog where there is one; null in browser mode (the UI shows a path field). */
  pickFolder(): Promise<string | null>;
  /** Opens a folder or reveals a file in the system's file manager; false where that is impossible. */
  showInFolder(path: string): Promise<boolean>;
  /** Path of a dropped file (webUtils.getPathForFile in Electron). */
  pathForFile(file: File): string | null;
  /** 'electron' or 'browser'. */
  readonly shell: 'electron' | 'browser';
}

/**
 * What the Electron preload puts on window.foldwise. contextBridge copies values between worlds: it
 * drops extra properties of a Promise and the name of an Error, so `call` answers a plain object whose
 * promise always resolves to an outcome, and cancel is separate. appApiFromBridge (rpc.ts) turns this
 * into an AppApi; ipc.ts can do `window.foldwise ? appApiFromBridge(window.foldwise) : browserApi()`.
 */
export interface DesktopBridge extends Omit<AppApi, 'call' | 'shell'> {
  readonly shell: 'electron';
  call<K extends HandlerName>(name: K, args: ArgsOf<K>): { job: string; outcome: Promise<BridgeOutcome<ResultOf<K>>> };
  cancel(job: string): void;
}

export type BridgeOutcome<T> = { ok: true; value: T } | { ok: false; error: { name: string; message: string; detail?: unknown } };

/** A pending call that can be cancelled; `job` ties its progress events to it. */
export interface CallHandle<T> extends Promise<T> {
  readonly job: string;
  cancel(): void;
}
