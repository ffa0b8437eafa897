import { configDefaults, defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/longest-first-sequencer';
import { SLOW_FILES } from './test/slow-files';

/**
 * Test files whose imports reach no TF.js package (its engine and backends are process-wide state)
 * and that keep no state between files (the contract, the renderer's pure functions, the store, the
 * dataset importers, and pure logic elsewhere): they share one worker thread, one after the other,
 * without a forked process each. A fork costs ~0.5 CPU s before a file's first test: these 62 files took 50 CPU s in forks and
 * 17 s in the thread (`npx vitest run <them>` with and without `--pool=threads --no-isolate`).
 */
const UNIT = [
  'test/shared/**/*.test.ts',
  'test/renderer/**/*.test.ts',
  'test/store/**/*.test.ts',
  'test/engine/importers/**/*.test.ts',
  'test/engine/data/inside-folder.test.ts',
  'test/engine/data/masks/rle.test.ts',
  'test/engine/data/rng.test.ts',
  'test/engine/detection/finetune-config.test.ts',
  'test/engine/eval/coco-detections-masks.test.ts',
  'test/engine/eval/coco-detections.test.ts',
  'test/engine/eval/cocoeval.test.ts',
  'test/engine/eval/voc.test.ts',
  'test/engine/export/make-folder.test.ts',
  'test/engine/export/safetensors.test.ts',
  'test/engine/stats/bootstrap.test.ts',
  'test/engine/train/schedules.test.ts',
  'test/jobs/finetune-record.test.ts',
  'test/jobs/slurm/job-outcome.test.ts',
  'test/bench/detection-bench-table.test.ts',
  'test/cli/follow-run.test.ts',
  'test/server/serving-inside.test.ts',
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
