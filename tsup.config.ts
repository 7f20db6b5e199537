// Node-side bundles: the CLI, the engine process, its workers, and the Electron main and preload.
// Dependencies stay external (native modules like sharp and onnxruntime must load from node_modules).
import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      'cli/index': 'src/cli/index.ts',
      'engine/entry': 'src/engine/entry.ts',
      'engine/worker': 'src/engine/worker.ts',
    },
    outDir: 'dist',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    clean: false,
    banner: ({ format }) => (format === 'cjs' ? {} : {}),
  },
  {
    entry: { 'main/index': 'src/main/index.ts', 'preload/index': 'src/preload/index.ts' },
    outDir: 'dist',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['electron'],
    // The sandboxed preload can require only electron's own modules, so its dependencies are bundled in.
    noExternal: ['zod'],
    sourcemap: true,
    clean: false,
  },
]);
