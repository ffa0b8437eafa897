// Builds the renderer (vite) into dist/renderer when it is missing or older than its sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const rendererDir = path.join(repo, 'dist', 'renderer');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function rendererIsStale() {
  const index = path.join(rendererDir, 'index.html');
  if (!existsSync(index)) return true;
  const sources = Math.max(
    newest(path.join(repo, 'src-renderer')),
    newest(path.join(repo, 'shared')),
    // The favicon (index.html links the icon set).
    newest(path.join(repo, 'assets')),
    statSync(path.join(repo, 'vite.config.ts')).mtimeMs,
  );
  return sources > statSync(index).mtimeMs;
}

/** Returns true when it built. */
export async function ensureRenderer({ force = false, quiet = false } = {}) {
  if (!force && !rendererIsStale()) return false;
  if (!quiet) console.log('building the renderer (vite)…');
  const { build } = await import('vite');
  await build({ configFile: path.join(repo, 'vite.config.ts'), logLevel: quiet ? 'error' : 'warn' });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const built = await ensureRenderer({ force: process.argv.includes('--force') });
  console.log(built ? `renderer built: ${rendererDir}` : `renderer is up to date: ${rendererDir}`);
}
