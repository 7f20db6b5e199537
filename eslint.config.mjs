// Lint enforces the layering in CONVENTIONS.md: what each folder may import.
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'http', 'https', 'net', 'stream', 'url', 'util', 'events', 'zlib'];
const runtimeOnly = ['electron', 'sharp', 'onnxruntime-node', '@tensorflow/*', 'webgpu', 'ws', 'react', 'react-dom', 'zustand'];
// Compute (tfjs and Dawn's native WebGPU) belongs to the engine's utility process alone.
const computeOnly = ['@tensorflow/*', 'webgpu', 'onnxruntime-node'];
const ban = (groups, message) => ({ 'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'release/**', 'out/**', 'test-results/**', 'playwright-report/**', 'src/engine/export/tflite/generated/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/shared/**'], rules: ban([...nodeBuiltins, ...runtimeOnly], 'src/shared is pure TypeScript: no runtime-specific imports.') },
  { files: ['src/engine/**', 'src/cli/**'], rules: ban(['electron', 'electron/*', '**/main/**', '**/preload/**', '**/renderer/**'], 'The engine and CLI never import electron or the app shell.') },
  { files: ['src/renderer/**'], rules: ban([...nodeBuiltins, 'electron', '**/engine/**', '**/main/**', '**/cli/**', ...computeOnly], 'The renderer reaches the engine only through ipc.ts.') },
  { files: ['src/preload/**'], rules: ban(['**/engine/**', '**/renderer/**', '**/cli/**', ...computeOnly], 'The preload only bridges window.foldwise.') },
  { files: ['src/main/**'], rules: ban([...computeOnly], 'The main process hosts the engine in a utility process and computes nothing itself.') },
);
