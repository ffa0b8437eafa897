#!/usr/bin/env node
// The headless `selfemd` command: runs the bundled CLI (dist/app/cli.mjs, which forks the bundled
// engine worker). In a checkout it is first rebuilt when a source it came from is newer than the
// build (esbuild, about a second, once), so nothing is transpiled at run time.
import { ensureApp } from '../scripts/build-app.mjs';

try {
  await ensureApp();
} catch (e) {
  console.error(`selfemd: could not build the CLI (${e.message}); run: npm install && npm run build:app`);
  process.exit(1);
}
await import('../dist/app/cli.mjs');
