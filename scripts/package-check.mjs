// Packs the app as `npm run dist` does, without an Electron binary, and checks what was packed:
//   1. electron-builder --dir (Linux) from electron-builder.yml, with a placeholder Electron
//      distribution, native rebuilds and fuses skipped (both need the real binary / headers);
//   2. prints app.asar's size, the unpacked files' size, and the largest packages inside;
//   3. unpacks the asar next to its .unpacked files and runs the packed engine worker under plain Node
//      through a one-step demo pretraining with the prefetch thread on: what shipped must run;
//   4. runs the engine worker from app.asar.unpacked alone, as the desktop app's GPU host does (a plain
//      Node cannot read the asar): the GPU probe, then the same pretraining on webgpu where the probe
//      found an adapter (else on wasm); and checks that only this platform's dawn.node was packed.
// electron-builder lists production packages with `npm ls`, which needs a real node_modules folder
// (a symlinked one lists them wrongly). Usage: node scripts/package-check.mjs [--keep]
import { fork, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from './build-app.mjs';
import { repo } from './renderer-build.mjs';

const require = createRequire(path.join(repo, 'package.json'));
const asar = require('@electron/asar');

function placeholderElectron(dir) {
  mkdirSync(path.join(dir, 'resources'), { recursive: true });
  writeFileSync(path.join(dir, 'electron'), '#!/bin/sh\nexit 1\n');
  chmodSync(path.join(dir, 'electron'), 0o755);
  writeFileSync(path.join(dir, 'LICENSE'), '');
  writeFileSync(path.join(dir, 'version'), require('electron/package.json').version);
}

async function pack(work) {
  const { getConfig } = require('app-builder-lib/out/util/config/config');
  const { build, Platform } = require('electron-builder');
  const config = await getConfig(repo, path.join(repo, 'electron-builder.yml'), null);
  placeholderElectron(path.join(work, 'electron'));
  await build({
    projectDir: repo,
    targets: Platform.LINUX.createTarget('dir'),
    config: {
      ...config,
      electronDist: path.join(work, 'electron'),
      npmRebuild: false,
      electronFuses: null,
      directories: { ...config.directories, output: path.join(work, 'release') },
    },
    publish: 'never',
  });
  return path.join(work, 'release', 'linux-unpacked', 'resources');
}

function summarise(resources) {
  const file = path.join(resources, 'app.asar');
  const sizes = new Map();
  const walk = (node, prefix) => {
    for (const [name, n] of Object.entries(node.files ?? {})) {
      const p = prefix ? `${prefix}/${name}` : name;
      if (n.files) walk(n, p);
      else if (!n.unpacked) {
        const parts = p.split('/');
        const depth = parts[0] === 'node_modules' ? (parts[1].startsWith('@') ? 3 : 2) : 2;
        const key = parts.slice(0, depth).join('/');
        sizes.set(key, (sizes.get(key) ?? 0) + (n.size ?? 0));
      }
    }
  };
  walk(asar.getRawHeader(file).header, '');
  const du = (dir) => {
    let total = 0;
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
      if (e.isFile()) total += statSync(path.join(e.parentPath ?? e.path, e.name)).size;
    return total;
  };
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  const unpacked = path.join(resources, 'app.asar.unpacked');
  console.log(
    `app.asar: ${mb(statSync(file).size)}; app.asar.unpacked: ${existsSync(unpacked) ? mb(du(unpacked)) : '0 MB'}`,
  );
  for (const [k, v] of [...sizes].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`  ${mb(v).padStart(9)}  ${k}`);
}

/** The packed app as files: the asar's contents with the unpacked files laid over them. */
function extract(resources, dir) {
  asar.extractAll(path.join(resources, 'app.asar'), dir);
  const unpacked = path.join(resources, 'app.asar.unpacked');
  if (existsSync(unpacked)) cpSync(unpacked, dir, { recursive: true });
  return dir;
}

/** The packed CLI (forking the packed engine worker) trains one step of a tiny BYOL, prefetching. */
function pretrainIn(app, work) {
  const { args } = JSON.parse(readFileSync(path.join(repo, 'scripts', 'smoke-pretrain.json'), 'utf8'));
  const r = spawnSync(process.execPath, [path.join(app, 'dist', 'app', 'cli.mjs'), ...args], {
    cwd: work,
    env: { ...process.env, SELFEMD_HOME: path.join(work, 'home') },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`the packed CLI failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout).run;
}

/** One job in the engine worker at app.asar.unpacked, under plain Node: its messages and exit code. */
function runUnpackedWorker(resources, job) {
  const child = fork(path.join(resources, 'app.asar.unpacked', 'dist', 'app', 'engine-worker.cjs'), [], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  child.on('message', (m) => messages.push(m));
  child.send({ type: 'start', job });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, messages })));
}

const last = (run, type) => run.messages.filter((m) => m.type === type).at(-1);

/** Step 4: the GPU host's view of the package. */
async function gpuHostRuns(resources, work, config) {
  const dist = path.join(resources, 'app.asar.unpacked', 'node_modules', 'webgpu', 'dist');
  const platforms = readdirSync(dist);
  const own = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  if (platforms.join() !== own || !existsSync(path.join(dist, own, 'dawn.node')))
    throw new Error(`packed dawn.node folders: ${platforms.join(', ')}; expected ${own} only`);
  const probe = await runUnpackedWorker(resources, { kind: 'gpu-probe' });
  const status = last(probe, 'result')?.result;
  if (probe.code !== 0 || !status)
    throw new Error(`the GPU probe failed in the unpacked worker (exit ${probe.code})`);
  console.log(
    `GPU host probe from app.asar.unpacked: ${status.state === 'available' ? `${status.adapter.vendor} ${status.adapter.architecture}${status.adapter.fallback ? ' (fallback adapter)' : ''}` : status.reason}`,
  );
  const backend = status.state === 'available' ? 'webgpu' : 'wasm';
  const run = await runUnpackedWorker(resources, {
    kind: 'pretrain',
    runId: 'gpu-host',
    config: { ...config, backend },
    runDir: path.join(work, 'gpu-host-run'),
    resume: false,
  });
  const finished = last(run, 'finished');
  if (run.code !== 0 || finished?.result.status !== 'completed')
    throw new Error(
      `the unpacked engine worker did not finish on ${backend} (exit ${run.code}): ${last(run, 'failed')?.message ?? ''}`,
    );
  return { backend: last(run, 'backend').info.choice, step: finished.result.step };
}

const keep = process.argv.includes('--keep');
const work = mkdtempSync(path.join(os.tmpdir(), 'selfemd-package-'));
try {
  await buildApp();
  const resources = await pack(work);
  summarise(resources);
  const app = extract(resources, path.join(work, 'app'));
  const result = await pretrainIn(app, work);
  console.log(
    `the packed CLI and engine worker pretrained: ${result.status} at step ${result.step}/${result.totalSteps}`,
  );
  const host = await gpuHostRuns(resources, work, result.config);
  console.log(
    `the unpacked engine worker (the GPU host's) pretrained on ${host.backend} to step ${host.step}`,
  );
} finally {
  if (keep) console.log(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
