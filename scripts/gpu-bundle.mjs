// Packs bench/gpu.ts for a lent GPU machine (docs/BENCHMARKS.md "GPU"), which has no Node, no npm
// and no internet, and takes at most 64 MiB with the repo. Writes the git-ignored .gpu-bench/:
//   base.tar.xz   foldwise-gpu-bench/: this machine's node binary, the native files that cannot be
//                 bundled (Dawn's dawn.node, onnxruntime-node's linux-x64 binding, sharp with its
//                 libvips, tfjs-wasm's .wasm files) in a small node_modules, and the default backbone's
//                 weights. Slow to compress (minutes), so kept until --base is given.
//   photos.tar    foldwise-gpu-bench/shared/datasets/dogs_vs_cats: an even share of each split and class
//                 (JPEGs: not compressed), remade with --photos N or --base.
//   bench.tar.xz  foldwise-gpu-bench/ too: bench/gpu.js (bench/gpu.ts in one file), dist/engine/worker.js
//                 (the onnxruntime workers), fine_tune_torch.py and run.sh. Made every time.
//   gl/*.deb      the Vulkan loader and GL libraries, as /work/.library/device/README.md says
//   node scripts/gpu-bundle.mjs [--base] [--photos 200]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(repo, '.gpu-bench');
const shared = path.resolve(process.env.FOLDWISE_SHARED ?? path.join(repo, '..', 'shared'));
const argIndex = process.argv.indexOf('--photos');
const photos = argIndex > 0 ? Number(process.argv[argIndex + 1]) : 200;
const LIMIT = 64 * 1024 * 1024;
const remakeBase = process.argv.includes('--base');
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-gpu-bundle-'));
let root = path.join(stage, 'base', 'foldwise-gpu-bench');
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const say = (line) => process.stderr.write(`${line}\n`);

if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('The GPU machines are linux-x64: pack on a linux-x64 machine (its node binary and native modules travel).');

/** Copies a file or folder from node_modules (or anywhere) to the same relative place under the bundle. */
function copy(from, to = path.relative(repo, from)) {
  fs.cpSync(from, path.join(root, to), { recursive: true, dereference: true });
}

// tfjs's WebGPU and wasm backends are loaded through createRequire in the engine (gpu/webgpu.ts,
// backend.ts), which esbuild cannot follow; as plain requires they are bundled, so that they register
// on the bundle's own tfjs (a second copy from node_modules would register on a second tfjs).
const BUNDLED_LATE = ['@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm'];
const lateRequires = {
  name: 'late-requires',
  setup(build) {
    build.onLoad({ filter: /src[\\/]engine[\\/](gpu[\\/]webgpu|backend)\.ts$/ }, (args) => {
      let text = fs.readFileSync(args.path, 'utf8');
      for (const pkg of BUNDLED_LATE) text = text.replaceAll(`nodeRequire('${pkg}')`, `require('${pkg}')`);
      // Any other loader of these packages would leave them out of the bundle: say so here, not on the GPU machine.
      for (const [, callee, pkg] of text.matchAll(/([\w.]+)\(\s*'(@tensorflow\/tfjs-backend-(?:webgpu|wasm))'\s*\)/g)) {
        if (callee !== 'require' && callee !== 'import') throw new Error(`${args.path} loads ${pkg} with ${callee}(...), which esbuild cannot follow: update scripts/gpu-bundle.mjs`);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

async function bundle() {
  // Native modules with their own loaders stay packages in node_modules (below); everything else is inlined.
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, external: ['sharp', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'electron'], plugins: [lateRequires], logLevel: 'error' };
  await esbuild.build({ ...common, entryPoints: [path.join(repo, 'bench', 'gpu.ts')], outfile: path.join(root, 'bench', 'gpu.js') });
  await esbuild.build({ ...common, entryPoints: [path.join(repo, 'src', 'engine', 'worker.ts')], outfile: path.join(root, 'dist', 'engine', 'worker.js') });
  copy(path.join(repo, 'bench', 'fine_tune_torch.py'));
  const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  // packageRoot() looks for Foldwise's package.json to find dist/engine/worker.js.
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'foldwise', version, private: true }));
}

function nativeModules() {
  const nm = path.join(repo, 'node_modules');
  const pkg = (name, ...parts) => copy(path.join(nm, name, ...parts));
  pkg('webgpu', 'package.json');
  pkg('webgpu', 'dist', 'linux-x64');
  pkg('@tensorflow/tfjs-backend-wasm', 'package.json');
  for (const f of fs.readdirSync(path.join(nm, '@tensorflow/tfjs-backend-wasm/dist')).filter((f) => f.endsWith('.wasm'))) pkg('@tensorflow/tfjs-backend-wasm', 'dist', f);
  // onnxruntime-node finds its binding by a path relative to its own dist/: kept as a package.
  pkg('onnxruntime-node', 'package.json');
  pkg('onnxruntime-node', 'dist');
  const napi = fs.readdirSync(path.join(nm, 'onnxruntime-node/bin')).find((d) => fs.existsSync(path.join(nm, 'onnxruntime-node/bin', d, 'linux/x64')));
  pkg('onnxruntime-node', 'bin', napi, 'linux', 'x64');
  pkg('onnxruntime-common');
  // sharp looks for @img/sharp-linux-x64/sharp.node, which finds libvips beside it by rpath.
  pkg('sharp', 'package.json');
  pkg('sharp', 'lib');
  for (const dep of ['@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64', '@img/colour', 'detect-libc', 'semver']) pkg(dep);
}

/** An even share of each split and class of dogs_vs_cats. */
function sharedPhotos() {
  const data = path.join(shared, 'datasets', 'dogs_vs_cats');
  const groups = fs.readdirSync(data).flatMap((split) => fs.readdirSync(path.join(data, split)).map((label) => path.join(split, label)));
  const files = groups.map((g) => fs.readdirSync(path.join(data, g)).sort().map((f) => path.join(g, f)));
  const total = files.reduce((n, list) => n + list.length, 0);
  let copied = 0;
  for (const list of files) {
    for (const file of list.slice(0, Math.max(1, Math.round((photos * list.length) / total)))) {
      copy(path.join(data, file), path.join('shared/datasets/dogs_vs_cats', file));
      copied++;
    }
  }
  return copied;
}

const RUN_SH = `#!/bin/sh
# Runs the GPU bench from this folder: JSON on stdout, progress on stderr. Unpack the Vulkan loader first
# (docs/BENCHMARKS.md "GPU"). Extra BENCH_* settings pass through (bench/gpu.ts).
here=$(cd "$(dirname "$0")" && pwd)
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -z "$VK_DRIVER_FILES" ] && [ -f $nvidia_icd ] && export VK_DRIVER_FILES=$nvidia_icd
export XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/tmp} FOLDWISE_SHARED="$here/shared" FOLDWISE_BACKEND=\${FOLDWISE_BACKEND:-webgpu}
exec "$here/node" "$here/bench/gpu.js"
`;

function vulkanDebs() {
  const gl = path.join(out, 'gl');
  if (fs.existsSync(gl) && fs.readdirSync(gl).some((f) => f.startsWith('libvulkan1'))) return;
  fs.mkdirSync(gl, { recursive: true });
  const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64', '-oDir::State::Lists=/tmp/amd64'];
  fs.mkdirSync('/tmp/amd64/partial', { recursive: true });
  execFileSync('apt-get', [...o, 'update'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', [...o, 'download', 'libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'], { cwd: gl, stdio: ['ignore', 'ignore', 'inherit'] });
}

function folderBytes(dir) {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).reduce((n, e) => n + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
}

/** What travels besides .gpu-bench: tracked files and untracked ones git does not ignore. */
function treeBytes() {
  const list = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 26 });
  return list.split('\0').filter(Boolean).reduce((n, f) => n + (fs.existsSync(path.join(repo, f)) ? fs.statSync(path.join(repo, f)).size : 0), 0);
}

/** Packs a staged folder (holding foldwise-gpu-bench/) into .gpu-bench/<name>. */
function pack(dir, name) {
  const xz = name.endsWith('.xz');
  say(`${name}: ${mb(folderBytes(dir))} staged${xz ? '; compressing with xz -9' : ''}`);
  const file = path.join(out, name);
  execFileSync('tar', ['-cf', `${file}.tmp`, ...(xz ? ['-I', `xz -9 -T${os.availableParallelism()}`] : []), '-C', dir, 'foldwise-gpu-bench'], { stdio: 'inherit' });
  fs.renameSync(`${file}.tmp`, file);
}

async function main() {
  fs.mkdirSync(out, { recursive: true });
  if (remakeBase || !fs.existsSync(path.join(out, 'base.tar.xz'))) {
    nativeModules();
    copy(path.join(shared, 'weights', 'mobilenet_v2_035_224_notop'), 'shared/weights/mobilenet_v2_035_224_notop');
    fs.copyFileSync(process.execPath, path.join(root, 'node'));
    pack(path.join(stage, 'base'), 'base.tar.xz');
  }
  if (remakeBase || argIndex > 0 || !fs.existsSync(path.join(out, 'photos.tar'))) {
    root = path.join(stage, 'photos', 'foldwise-gpu-bench');
    say(`${sharedPhotos()} photos`);
    pack(path.join(stage, 'photos'), 'photos.tar');
  }
  root = path.join(stage, 'code', 'foldwise-gpu-bench');
  await bundle();
  fs.writeFileSync(path.join(root, 'run.sh'), RUN_SH, { mode: 0o755 });
  pack(path.join(stage, 'code'), 'bench.tar.xz');
  fs.rmSync(stage, { recursive: true, force: true });
  vulkanDebs();
  const bundleBytes = folderBytes(out);
  const travel = bundleBytes + treeBytes();
  say(`.gpu-bench: ${mb(bundleBytes)}; with the working tree ${mb(travel)} of the ${mb(LIMIT)} that may travel (node ${process.version})`);
  if (travel > LIMIT) throw new Error(`Too big to travel (${mb(travel)}): pack fewer photos (--photos N).`);
}

main().catch((error) => {
  fs.rmSync(stage, { recursive: true, force: true });
  console.error(error.message ?? error);
  process.exit(1);
});
