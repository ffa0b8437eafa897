import { configDefaults, defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/longest-first-sequencer';
import { SLOW_FILES } from './test/slow-files';

// Engine tests train real (tiny) networks on the wasm backend: give them room, and run
// files in separate forked processes so one file's TF.js backend state cannot leak into another.
// `vitest run` (npm test) leaves out the long variants of test/slow-files.ts; `vitest run --mode slow`
// (npm run test:slow) runs only them.
export default defineConfig(({ mode }) => ({
  test: {
    include: mode === 'slow' ? Object.keys(SLOW_FILES) : ['test/**/*.test.ts'],
    exclude:
      mode === 'slow' ? configDefaults.exclude : [...configDefaults.exclude, ...Object.keys(SLOW_FILES)],
    globalSetup: ['test/global-setup.ts'],
    // each file's own TMPDIR and the check that it leaves nothing there; its CPU seconds on request;
    // the built engine worker for the training processes a test starts (see each file)
    setupFiles: ['test/file-cpu.ts', 'test/file-tmpdir.ts', 'test/built-engine-worker.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // the long files first, so that the two forks finish together (see the sequencer)
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
}));
