// Where a backbone's files come from, best first: the installer's bundled copy, the user's cache,
// the shared weights folder (FOLDWISE_SHARED: CI and offline development), and last a download.
import path from 'node:path';
import type { BackboneInfo } from '../../shared/types';
import { cacheDir, packageRoot, sharedDir } from '../paths';
import { backboneBytes, type BackboneSpec, canTuneTop, getBackbone } from './catalog';
import { downloadBackbone, isComplete, type DownloadOptions, type DownloadProgress } from './download';

export type BackboneSource = 'bundled' | 'cache' | 'shared';

export interface ResolvedBackbone {
  spec: BackboneSpec;
  /** Folder holding model.json and its weight files (a pair: its first part's; see parts). */
  dir: string;
  source: BackboneSource;
  /** A pair: each part, resolved. */
  parts?: ResolvedBackbone[];
}

/** A pair is where its parts are: all of them, or (null) not at all. */
function pairOf(spec: BackboneSpec, parts: (ResolvedBackbone | null)[]): ResolvedBackbone | null {
  if (parts.some((p) => p === null)) return null;
  const found = parts as ResolvedBackbone[];
  return { spec, dir: found[0]!.dir, source: found[0]!.source, parts: found };
}

export interface BackboneLocations {
  /** Backbones shipped with the app (<dir>/<id>/). Default: FOLDWISE_BUNDLED_BACKBONES, else <package>/assets/backbones. */
  bundledDir?: string | null;
  /** Downloaded backbones (<dir>/<id>/). Default: cacheDir()/backbones. */
  cacheDir?: string;
  /** The shared weights (<dir>/<sharedFolder>/). Default: sharedDir()/weights. */
  sharedWeightsDir?: string | null;
}

export interface ResolveOptions extends BackboneLocations, Omit<DownloadOptions, 'url'> {
  /** Base URL to download from instead of spec.url (a mirror, or a test server). */
  url?: string;
  /** false: never download, fail with 'backbone/offline' when no local copy exists. */
  download?: boolean;
}

export function defaultBundledDir(): string | null {
  if (process.env.FOLDWISE_BUNDLED_BACKBONES) return path.resolve(process.env.FOLDWISE_BUNDLED_BACKBONES);
  // Packaged apps set FOLDWISE_BUNDLED_BACKBONES to process.resourcesPath/backbones; from a checkout this is
  // where scripts/fetch-backbones.js puts them.
  return path.join(packageRoot(), 'assets', 'backbones');
}

export function backboneCacheDir(locations: BackboneLocations = {}): string {
  return locations.cacheDir ?? path.join(cacheDir(), 'backbones');
}

/** The best local copy, without downloading; null when there is none. */
export function findLocalBackbone(id: string, locations: BackboneLocations = {}): ResolvedBackbone | null {
  const spec = getBackbone(id);
  if (spec.parts) return pairOf(spec, spec.parts.map((part) => findLocalBackbone(part, locations)));
  const bundled = locations.bundledDir === undefined ? defaultBundledDir() : locations.bundledDir;
  const shared = locations.sharedWeightsDir === undefined ? path.join(sharedDir(), 'weights') : locations.sharedWeightsDir;
  const candidates: [BackboneSource, string | null][] = [
    ['bundled', bundled && path.join(bundled, id)],
    ['cache', path.join(backboneCacheDir(locations), id)],
    ['shared', shared && path.join(shared, spec.sharedFolder)],
  ];
  for (const [source, dir] of candidates) {
    if (dir && isComplete(dir, spec)) return { spec, dir, source };
  }
  return null;
}

/** A local copy, or else a verified download into the cache. */
export async function resolveBackbone(id: string, options: ResolveOptions = {}): Promise<ResolvedBackbone> {
  const local = findLocalBackbone(id, options);
  if (local) return local;
  const spec = getBackbone(id);
  if (spec.parts) {
    // One after the other, with progress counted over the pair's bytes (a part already here counts as done).
    const total = backboneBytes(spec);
    const parts: ResolvedBackbone[] = [];
    let before = 0;
    for (const part of spec.parts) {
      const offset = before;
      const onProgress = options.onProgress && ((p: DownloadProgress) => options.onProgress!({ ...p, done: offset + p.done, total }));
      parts.push(await resolveBackbone(part, { ...options, onProgress }));
      before += backboneBytes(getBackbone(part));
    }
    return pairOf(spec, parts)!;
  }
  const dir = path.join(backboneCacheDir(options), id);
  await downloadBackbone(spec, dir, { ...options, url: options.url ?? spec.url, offline: options.download === false });
  return { spec, dir, source: 'cache' };
}

/** What the picker shows for one backbone. */
export function describeBackbone(id: string, locations: BackboneLocations = {}): BackboneInfo {
  const spec = getBackbone(id);
  const local = findLocalBackbone(id, locations);
  return {
    id: spec.id,
    name: spec.name,
    description: spec.description,
    inputSize: spec.inputSize,
    featureSize: spec.featureSize,
    available: local !== null,
    source: local?.source ?? 'missing',
    tunableTop: canTuneTop(spec),
  };
}
