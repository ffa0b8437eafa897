// Finds the Electron binary without triggering electron's own download-on-require, and fetches it once
// when asked. Returns { path } or { reason } in one line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repo } from './renderer-build.mjs';

const pkgDir = path.join(repo, 'node_modules', 'electron');

export function electronBinary() {
  if (process.env.ELECTRON_BINARY && existsSync(process.env.ELECTRON_BINARY))
    return { path: process.env.ELECTRON_BINARY };
  if (!existsSync(pkgDir)) return { reason: 'the electron package is not installed' };
  const pathFile = path.join(pkgDir, 'path.txt');
  if (existsSync(pathFile)) {
    const bin = path.join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    if (existsSync(bin)) return { path: bin };
  }
  return { reason: 'the Electron binary has not been downloaded' };
}

/** Tries electron's installer once (it downloads the binary for this platform). */
export function fetchElectron(timeoutMs = 180_000) {
  const found = electronBinary();
  if (found.path || !existsSync(pkgDir)) return found;
  const r = spawnSync(process.execPath, [path.join(pkgDir, 'install.js')], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  const again = electronBinary();
  if (again.path) return again;
  const why = `${r.stderr || ''}${r.stdout || ''}`
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('at '));
  return {
    reason: `the Electron binary could not be downloaded (${r.error?.message ?? why ?? `exit ${r.status}`})`,
  };
}
