#!/usr/bin/env node
// `npm run fetch-backbones [-- ids... --from <folder> --url <base> --out <folder>]`: fills the git-ignored
// assets/backbones/<id>/ that the installer bundles (electron-builder copies it to resources/backbones).
// Each backbone comes from a local weights folder (default ../shared/weights, or FOLDWISE_SHARED) or is
// downloaded; every file is checked against the sha256 in src/engine/backbones/manifests.json and the
// folder appears only when complete.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const manifests = require(path.join(root, 'src', 'engine', 'backbones', 'manifests.json'));
const say = (line) => process.stderr.write(`fetch-backbones: ${line}\n`);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string' }, // a folder holding <sharedFolder>/ subfolders, like ../shared/weights
    url: { type: 'string' }, // a mirror holding <sharedFolder>/ subfolders; default: the catalog's URLs
    out: { type: 'string', default: path.join(root, 'assets', 'backbones') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  say(`usage: node scripts/fetch-backbones.js [${Object.keys(manifests).join('|')} ...] [--from <weights folder>] [--url <mirror>] [--out <folder>]`);
  process.exit(0);
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');
const weightsDir = values.from ?? path.join(path.resolve(process.env.FOLDWISE_SHARED ?? path.join(root, '..', 'shared')), 'weights');

function isVerified(dir, files) {
  return files.every((f) => {
    try {
      const bytes = fs.readFileSync(path.join(dir, f.path));
      return bytes.length === f.bytes && sha256(bytes) === f.sha256;
    } catch {
      return false;
    }
  });
}

async function download(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return Buffer.from(await response.arrayBuffer());
}

async function fetchOne(id) {
  const manifest = manifests[id];
  if (!manifest) throw Object.assign(new Error(`unknown backbone "${id}"; known: ${Object.keys(manifests).join(', ')}`), { unknown: true });
  const dest = path.join(values.out, id);
  if (isVerified(dest, manifest.files)) return `${id}: already in ${dest}`;

  const local = path.join(weightsDir, manifest.sharedFolder);
  const useLocal = fs.existsSync(path.join(local, 'model.json'));
  const base = values.url ? new URL(`${manifest.sharedFolder}/`, values.url.endsWith('/') ? values.url : `${values.url}/`).toString() : manifest.url;
  const staging = path.join(values.out, `.${id}.partial`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    for (const file of manifest.files) {
      const bytes = useLocal ? fs.readFileSync(path.join(local, file.path)) : await download(new URL(file.path, base).toString());
      if (bytes.length !== file.bytes || sha256(bytes) !== file.sha256) {
        throw new Error(`${file.path} from ${useLocal ? local : base} does not match the catalog (size ${bytes.length}, expected ${file.bytes}); refusing to bundle it`);
      }
      fs.writeFileSync(path.join(staging, file.path), bytes);
    }
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(staging, dest);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return `${id}: ${manifest.files.length} files verified into ${dest} (from ${useLocal ? local : base})`;
}

(async () => {
  const ids = positionals.length > 0 ? positionals : Object.keys(manifests);
  let failed = false;
  for (const id of ids) {
    try {
      say(await fetchOne(id));
    } catch (error) {
      failed = true;
      const cause = error.cause?.code ?? error.cause?.message;
      const hint = error.unknown ? '' : ' Connect to the internet, or pass --from <folder> with the weights.';
      say(`${id}: ${error.message}${cause ? ` (${cause})` : ''}.${hint}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
