// Bundles the Electron app into dist/app: main.cjs, preload.cjs (sandboxed: one self-contained file)
// and engine-worker.cjs (run by utilityProcess). Native modules and TF.js stay external: they load
// from node_modules (unpacked from the asar when packaged).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensureRenderer, repo } from './renderer-build.mjs';

const out = path.join(repo, 'dist', 'app');
const external = ['electron', 'better-sqlite3', 'sharp', '@tensorflow/*', 'ws'];
// ESM sources read import.meta.url; in the CommonJS bundles it is this file's URL.
const importMeta = {
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
};
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
};

export async function buildApp({ renderer = true } = {}) {
  if (renderer) await ensureRenderer();
  await Promise.all([
    build({
      ...common,
      ...importMeta,
      entryPoints: [path.join(repo, 'src-main/app/main.ts')],
      outfile: path.join(out, 'main.cjs'),
      external,
    }),
    build({
      ...common,
      ...importMeta,
      entryPoints: [path.join(repo, 'src-main/jobs/engine-worker.ts')],
      outfile: path.join(out, 'engine-worker.cjs'),
      external,
    }),
    build({
      ...common,
      entryPoints: [path.join(repo, 'src-main/app/preload.ts')],
      outfile: path.join(out, 'preload.cjs'),
      external: ['electron'],
    }),
  ]);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(`app bundled: ${await buildApp({ renderer: !process.argv.includes('--no-renderer') })}`);
}
