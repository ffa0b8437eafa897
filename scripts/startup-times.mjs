// Start-up times of the `selfemd` a user runs (issue 10's note): the wall time of `selfemd info`
// (best of 3) and the time from launching `selfemd pretrain --data demo --method byol --epochs 1` to
// its first step's progress line (best of 2; the run is then killed, in a temporary SELFEMD_HOME).
// Usage: node scripts/startup-times.mjs [REPO]   (REPO: a checkout to measure, default this one)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const bin = path.join(repo, 'bin', 'selfemd.mjs');

/** Milliseconds until the command exits (0) or, with `until`, until its output matches (then killed). */
function timed(args, env, until) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repo,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let done = false;
    const onData = (d) => {
      text += d;
      if (!done && until?.test(text)) {
        done = true;
        resolve(performance.now() - t0);
        process.kill(-child.pid, 'SIGKILL'); // the CLI and its engine worker
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      if (done) return;
      done = true;
      if (code === 0 && !until) resolve(performance.now() - t0);
      else reject(new Error(`selfemd ${args[0]} exited with ${code}:\n${text}`));
    });
  });
}

const report = (name, ms) =>
  console.log(`${name}: ${ms.map((x) => x.toFixed(0)).join(', ')} ms (best ${Math.min(...ms).toFixed(0)})`);

const info = [];
for (let i = 0; i < 3; i++) info.push(await timed(['info'], {}));
report('selfemd info', info);
const firstStep = [];
for (let i = 0; i < 2; i++) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'selfemd-startup-'));
  try {
    const args = ['pretrain', '--data', 'demo', '--method', 'byol', '--epochs', '1'];
    firstStep.push(await timed(args, { SELFEMD_HOME: home }, /\s1\/\d+ ETA/));
  } finally {
    await new Promise((r) => setTimeout(r, 500));
    rmSync(home, { recursive: true, force: true });
  }
}
report('first pretraining step', firstStep);
