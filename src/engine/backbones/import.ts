// "Import a folder": for computers that never go online, copy a backbone someone brought on a USB
// stick into the cache, after checking every file against the catalog's digests.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../../shared/rpc';
import { getBackbone } from './catalog';
import { sha256File, stagingDir } from './download';
import { backboneCacheDir, type BackboneLocations, type ResolvedBackbone } from './resolve';

/** Verifies `folder` (model.json + weight files of backbone `id`) and copies it into the cache atomically. */
export async function importBackbone(id: string, folder: string, locations: BackboneLocations = {}): Promise<ResolvedBackbone> {
  const spec = getBackbone(id);
  if (spec.parts) {
    throw new EngineError('backbone/import-pair', `${spec.name} is made of ${spec.parts.join(' and ')}: import each of those folders instead.`, { id });
  }
  const problems: string[] = [];
  for (const file of spec.files) {
    const source = path.join(folder, file.path);
    let digest: string | null = null;
    try {
      digest = await sha256File(source);
    } catch {
      problems.push(`${file.path} is missing`);
      continue;
    }
    if (digest !== file.sha256) problems.push(`${file.path} is not the published file (sha256 ${digest.slice(0, 12)}…, expected ${file.sha256.slice(0, 12)}…)`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
    throw new EngineError(
      'backbone/import-mismatch',
      `The folder ${folder} does not hold ${spec.name}: ${shown}. Choose the folder that contains its model.json and all of its weight files, exactly as downloaded.`,
      { id, folder, problems },
    );
  }
  const finalDir = path.join(backboneCacheDir(locations), id);
  const staging = `${stagingDir(finalDir)}-import`;
  await fs.promises.rm(staging, { recursive: true, force: true });
  await fs.promises.mkdir(staging, { recursive: true });
  try {
    for (const file of spec.files) await fs.promises.copyFile(path.join(folder, file.path), path.join(staging, file.path));
    await fs.promises.rm(finalDir, { recursive: true, force: true });
    await fs.promises.rename(staging, finalDir);
  } catch (error) {
    await fs.promises.rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { spec, dir: finalDir, source: 'cache' };
}
