/**
 * Runs once around the whole run:
 * - builds the renderer (when stale) for the browser end-to-end tests. Built here rather than by
 *   each e2e file, because files run in parallel and two vite builds into dist/renderer at once empty
 *   each other's output under a running server (a lazily loaded view then fails to load);
 * - builds the app's Node entries (when stale): the tests' training processes run its engine worker
 *   (test/built-engine-worker.ts);
 * - makes the run's private temp root (`selfemd-tests-*` in the real temp folder): every test file
 *   gets its own folder in it (test/file-tmpdir.ts), removed when the file ends. What is left in the
 *   root at the end fails the run, named; the root is removed either way, so a run leaves nothing in /tmp.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { isProcessAlive } from '../src-main/store/process-alive';
import { ensureAppBuilt } from './app/built-app';
import { ensureRendererBuilt } from './e2e/harness';
import { leftovers, SHARED_CACHES } from './temp-dir';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's private temp root (global-setup.ts); each test file makes its folder in it. */
    testTmpRoot: string;
  }
}

export default function setup(project: TestProject): () => void {
  ensureRendererBuilt();
  ensureAppBuilt();
  const realTmp = os.tmpdir();
  // Tools' caches stay where the tools keep them; each file's folder links to them (temp-dir.ts).
  for (const cache of SHARED_CACHES) fs.mkdirSync(path.join(realTmp, cache), { recursive: true });
  removeRootsOfEndedRuns(realTmp);
  const root = fs.mkdtempSync(path.join(realTmp, `selfemd-tests-${process.pid}-`));
  // Traversable by others, as /tmp is: the local Slurm's jobs run as `nobody` and write a test's
  // shared folder inside it (each folder in it keeps its own permissions; tempDir's are private).
  fs.chmodSync(root, 0o755);
  project.provide('testTmpRoot', root);
  return () => {
    // A file's folder is still here when its afterAll hooks did not run: vitest runs none in a file
    // whose tests were all skipped (then it holds only the cache links), or the file's process died.
    // Anything else in it was left there.
    const left = fs
      .readdirSync(root)
      .flatMap((file) => leftovers(path.join(root, file)).map((name) => `${file}/${name}`));
    fs.rmSync(root, { recursive: true, force: true });
    if (left.length > 0)
      throw new Error(
        `left in test files' temp folders (the folder is named after the file and its process id): ${left.join(', ')}`,
      );
  };
}

/**
 * A run that did not get to its teardown (killed, or a `vitest list`, which collects the files
 * without their hooks) leaves its root: removed by the next run once its process has ended. Roots
 * of runs still going (other checkouts' runs on this machine) are left alone.
 */
function removeRootsOfEndedRuns(tmp: string): void {
  for (const name of fs.readdirSync(tmp)) {
    const pid = Number(/^selfemd-tests-(\d+)-/.exec(name)?.[1]);
    if (!pid || isProcessAlive(pid)) continue;
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    } catch (e) {
      console.warn(`could not remove the temp root of an ended test run, ${name}: ${(e as Error).message}`);
    }
  }
}
