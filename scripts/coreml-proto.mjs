#!/usr/bin/env node
// `node scripts/coreml-proto.mjs [folder]`: turns Apple's Core ML .proto files (apple/coremltools
// mlmodel/format, BSD-3-Clause; default ../shared/formats/coreml) into the protobufjs JSON descriptor
// that src/engine/export/coreml/proto.ts loads, so neither the app nor CI needs the .proto files.
// Comments are dropped; names, field numbers and types are as Apple wrote them. Run it again when the
// .proto files change, and keep LICENSE-coremltools beside the output.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = process.env.FOLDWISE_SHARED ?? path.join(here, '..', '..', 'shared');
const from = path.resolve(process.argv[2] ?? path.join(shared, 'formats', 'coreml'));
const out = path.join(here, '..', 'src', 'engine', 'export', 'coreml', 'coreml-proto.json');

const root = new protobuf.Root();
// Imports are named as in Apple's tree (e.g. "DataStructures.proto"); all of them sit in one folder here.
root.resolvePath = (_origin, target) => path.join(from, path.basename(target));
root.loadSync(path.join(from, 'Model.proto'), { keepCase: true });
root.resolveAll();
fs.writeFileSync(out, JSON.stringify(root.toJSON()) + '\n');
fs.copyFileSync(path.join(from, 'LICENSE-coremltools'), path.join(path.dirname(out), 'LICENSE-coremltools'));
console.log(`wrote ${path.relative(process.cwd(), out)} (${fs.statSync(out).size} bytes) from ${from}`);
