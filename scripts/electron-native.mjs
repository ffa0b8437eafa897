// Development only: better-sqlite3 built for Electron's ABI, kept apart in dist/electron-native so the
// node_modules copy stays usable by Node (CLI, tests, browser mode). Packaged apps do not need this:
// electron-builder rebuilds native modules for Electron itself.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { repo } from './renderer-build.mjs';

export function ensureElectronSqlite() {
  const target = path.join(repo, 'dist', 'electron-native', 'better_sqlite3.node');
  const version = JSON.parse(
    readFileSync(path.join(repo, 'node_modules', 'electron', 'package.json'), 'utf8'),
  ).version;
  const stamp = `${target}.electron-${version}`;
  if (existsSync(target) && existsSync(stamp)) return target;
  const work = mkdtempSync(path.join(os.tmpdir(), 'selfemd-sqlite-'));
  try {
    const pkg = path.join(work, 'better-sqlite3');
    cpSync(path.join(repo, 'node_modules', 'better-sqlite3'), pkg, { recursive: true });
    rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
    const prebuild = path.join(repo, 'node_modules', 'prebuild-install', 'bin.js');
    const r = spawnSync(
      process.execPath,
      [prebuild, '--runtime', 'electron', '--target', version, '--arch', process.arch],
      {
        cwd: pkg,
        encoding: 'utf8',
        timeout: 180_000,
      },
    );
    const built = path.join(pkg, 'build', 'Release', 'better_sqlite3.node');
    if (r.status !== 0 || !existsSync(built))
      throw new Error(
        `could not get better-sqlite3 for Electron ${version}: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`,
      );
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(built, target);
    copyFileSync(built, stamp);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
