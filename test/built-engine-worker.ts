/**
 * Runs before every test file (vitest `setupFiles`): training processes that a test starts in its
 * own process (StudioService, RunManager) run the built engine worker (dist/app/engine-worker.cjs,
 * built by test/global-setup.ts when a source is newer), as the CLI, the browser-mode server and the
 * app run it. From the sources each such process first loaded the engine through tsx: ~2 CPU s a
 * process against ~0.5 s from the bundle (measured by loading each entry alone). The servers the
 * e2e tests start are the built one too (test/e2e/harness.ts).
 */
import * as path from 'node:path';
import { setEngineWorkerEntry } from '../src-main/jobs/worker-process';
import { appDir } from './app/built-app';

setEngineWorkerEntry(path.join(appDir, 'engine-worker.cjs'));
