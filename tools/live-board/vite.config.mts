import { defineConfig } from 'vite';

/**
 * The board is plain React without a Vite plugin: esbuild compiles JSX with the automatic runtime.
 * `base: './'` lets the build be served from any path; the gateway URL is chosen at run time (src/config.ts).
 */
export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic' },
  build: { outDir: process.env.LIVE_BOARD_OUT_DIR ?? 'dist/app', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  logLevel: 'warn',
});
