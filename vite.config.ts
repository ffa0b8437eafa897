// The renderer build: src-renderer → dist/renderer, with relative asset URLs so the same files load
// from browser mode's server and from Electron's app:// protocol.
import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./src-renderer', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    // No inline scripts: the CSP allows scripts from the studio's own files only.
    modulePreload: { polyfill: false },
  },
});
