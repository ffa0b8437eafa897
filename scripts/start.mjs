#!/usr/bin/env node
// `npm start`: the desktop app (Electron). Where the Electron binary cannot be obtained, says so in one
// line and starts browser mode instead, printing its URL. `npm run serve` (or `--browser`) goes
// straight to browser mode. Both run the built files (dist/renderer, dist/app), rebuilt first only when
// a source is newer than them; the studio opens on the built-in demo datasets.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fetchElectron } from './electron-binary.mjs';
import { ensureApp } from './build-app.mjs';
import { repo } from './renderer-build.mjs';

const argv = process.argv.slice(2);
const browserOnly = argv.includes('--browser');
const passThrough = argv.filter((a) => a !== '--browser');

function run(cmd, args, env = process.env) {
  const child = spawn(cmd, args, { stdio: 'inherit', env, cwd: repo });
  const forward = (sig) => () => child.kill(sig);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function browserMode() {
  await ensureApp({ renderer: true });
  run(process.execPath, [path.join(repo, 'dist', 'app', 'server.mjs'), ...passThrough]);
}

async function electronMode(binary) {
  await ensureApp({ renderer: true });
  const env = { ...process.env };
  try {
    const { ensureElectronSqlite } = await import('./electron-native.mjs');
    ensureElectronSqlite();
  } catch (e) {
    console.log(
      `Electron is available but its SQLite module is not (${e.message}); starting browser mode instead.`,
    );
    return browserMode();
  }
  delete env.ELECTRON_RUN_AS_NODE;
  run(binary, [path.join(repo, 'dist', 'app', 'main.cjs'), ...passThrough], env);
}

if (browserOnly) await browserMode();
else {
  const found = fetchElectron();
  if (found.path) await electronMode(found.path);
  else {
    console.log(`Electron is not available here (${found.reason}); starting browser mode instead.`);
    await browserMode();
  }
}
