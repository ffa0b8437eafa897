import { configDefaults, defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/longest-first-sequencer';
import { SLOW_FILES } from './test/slow-files';

/**
 * Test files that load no TF.js and keep no state between files (the contract, the renderer's pure
 * functions, the store, the dataset importers): they share one worker thread, one after the other,
 * without a fresh process each. A forked process per file costs ~0.5 CPU s before its first test;
 * these 45 files took 38 CPU s in forks and 14 s in the thread (`npx vitest run <their folders>`).
 */
const UNIT = [
  'test/shared/**/*.test.ts',
  'test/renderer/**/*.test.ts',
  'test/store/**/*.test.ts',
  'test/engine/importers/**/*.test.ts',
];

// Engine tests train real (tiny) networks on the wasm backend: give them room, and run the other
// files in separate forked processes so one file's TF.js backend state cannot leak into another.
// `vitest run` (npm test) leaves out the long variants of test/slow-files.ts; `vitest run --mode slow`
// (npm run test:slow) runs only them.
export default defineConfig(({ mode }) => ({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // each file's own TMPDIR and the check that it leaves nothing there; its CPU seconds on request;
    // the built engine worker for the training processes a test starts (see each file)
    setupFiles: ['test/file-cpu.ts', 'test/file-tmpdir.ts', 'test/built-engine-worker.ts'],
    poolOptions: {
      forks: { maxForks: 2, minForks: 1 },
      threads: { maxThreads: 1, minThreads: 1, isolate: false },
    },
    // the long files first, so that the two forks finish together (see the sequencer)
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects:
      mode === 'slow'
        ? [{ extends: true, test: { name: 'slow', include: Object.keys(SLOW_FILES), pool: 'forks' } }]
        : [
            { extends: true, test: { name: 'unit', include: UNIT, pool: 'threads' } },
            {
              extends: true,
              test: {
                name: 'forks',
                include: ['test/**/*.test.ts'],
                exclude: [...configDefaults.exclude, ...UNIT, ...Object.keys(SLOW_FILES)],
                pool: 'forks',
              },
            },
          ],
  },
}));
