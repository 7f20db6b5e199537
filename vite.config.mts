// The renderer: one React app served by Electron (file://) and by `foldwise serve` (http).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src/renderer',
  base: './',
  build: { outDir: '../../dist/renderer', emptyOutDir: true, sourcemap: true },
});
