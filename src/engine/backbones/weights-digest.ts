// A digest of the weights a backbone folder actually holds: model.json and every weight file it
// names. Caches of what a backbone computes (feature vectors, the ONNX conversion) put it in their
// keys, so a re-downloaded, imported or fine-tuned copy never reuses another copy's results; the
// catalog's declared integrity cannot tell those apart from the copy it describes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { resolveBackbone, type ResolveOptions } from './resolve';

interface Known {
  /** model.json first, then the weight files it names, relative to the folder. */
  files: string[];
  /** path, size and mtime of each file when it was hashed. */
  stamp: string;
  digest: string;
}

// Hashing reads every weight (megabytes); a stat of each file is enough to know nothing changed.
const known = new Map<string, Known>();

async function stampOf(dir: string, files: string[]): Promise<string | null> {
  try {
    const stats = await Promise.all(files.map((f) => fs.promises.stat(path.join(dir, f))));
    return files.map((f, i) => `${f}:${stats[i]!.size}:${stats[i]!.mtimeMs}`).join('|');
  } catch {
    return null; // a file went away: hash again, which names the missing file
  }
}

function weightFiles(modelJson: Buffer): string[] {
  const json = JSON.parse(modelJson.toString('utf8')) as { weightsManifest?: { paths?: string[] }[] };
  return (json.weightsManifest ?? []).flatMap((group) => group.paths ?? []);
}

/** sha256 (hex) over model.json and its weight files in manifest order; cached by path, size and mtime. */
export async function weightsDigest(dirInput: string): Promise<string> {
  const dir = path.resolve(dirInput);
  const previous = known.get(dir);
  if (previous && (await stampOf(dir, previous.files)) === previous.stamp) return previous.digest;
  const modelJson = await fs.promises.readFile(path.join(dir, 'model.json'));
  const files = ['model.json', ...weightFiles(modelJson)];
  // Stamped before reading: a file rewritten while it is hashed gets a new stamp, so the next call hashes again.
  const stamp = await stampOf(dir, files);
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\n`);
    hash.update(file === 'model.json' ? modelJson : await fs.promises.readFile(path.join(dir, file)));
  }
  const digest = hash.digest('hex');
  if (stamp) known.set(dir, { files, stamp, digest });
  return digest;
}

/** The digest of the copy of backbone `id` that loading it would use (found locally, or downloaded first). */
export async function backboneWeightsDigest(id: string, options: ResolveOptions = {}): Promise<string> {
  const resolved = await resolveBackbone(id, options);
  if (!resolved.parts) return weightsDigest(resolved.dir);
  const digests = await Promise.all(resolved.parts.map((p) => weightsDigest(p.dir)));
  return createHash('sha256').update(digests.join('|')).digest('hex');
}
