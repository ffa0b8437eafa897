#!/usr/bin/env node
// run-parallel.mjs SCRIPT...: runs the named npm scripts two at a time (the checks `npm test` runs
// before the tests: each is single-threaded, so one after the other left a core idle for ~45 s).
// Each script's output is printed as one block when it ends; exits non-zero if any failed, naming them.
import { spawn } from 'node:child_process';
import os from 'node:os';

const scripts = process.argv.slice(2);
const lanes = Math.max(1, Math.min(2, os.availableParallelism?.() ?? os.cpus().length));
const failed = [];

function run(name) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('npm', ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `\n> ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${seconds} s\n${out}`,
      );
      if (code !== 0) failed.push(name);
      resolve();
    });
  });
}

const queue = [...scripts];
await Promise.all(
  Array.from({ length: lanes }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) await run(name);
  }),
);
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
