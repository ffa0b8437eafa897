/** Pretraining paused after `pauseAt` steps, then resumed to the end: the run a resume test compares. */
import { expect } from 'vitest';
import type { PretrainConfig } from '../../../shared/config/pretrain';
import type { RawImage } from '../../../src-main/engine/data/raw-image';
import { runPretraining } from '../../../src-main/engine/train/pretrain';

export async function pauseThenResume(
  config: PretrainConfig,
  images: RawImage[],
  runDir: string,
  pauseAt: number,
  totalSteps: number,
): Promise<void> {
  let steps = 0;
  const paused = await runPretraining({
    config,
    images,
    runDir,
    hooks: {
      onProgress: (p) => (steps = p.step),
      shouldStop: () => (steps >= pauseAt ? 'pause' : 'continue'),
    },
  });
  expect(paused).toMatchObject({ status: 'paused', step: pauseAt });
  const resumed = await runPretraining({ config, images, runDir, resume: true });
  expect(resumed).toMatchObject({ status: 'completed', step: totalSteps });
}
