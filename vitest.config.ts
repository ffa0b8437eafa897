import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/longest-first-sequencer';

// Engine tests train real (tiny) networks on the wasm backend: give them room, and run
// files in separate forked processes so one file's TF.js backend state cannot leak into another.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // the long files first, so that the two forks finish together (see the sequencer)
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
