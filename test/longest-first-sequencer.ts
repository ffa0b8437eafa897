/**
 * The order `vitest run` starts test files in: the long files first, longest first, then the rest in
 * vitest's own order. With two forks taking files from one queue this is longest-processing-time-first
 * scheduling: the forks finish within about one short file of each other. Vitest's own order only
 * knows durations from its cache (node_modules/.vite), which a fresh clone (CI) does not have; it then
 * starts the largest files first, and small long-running files (an overfit test is 70 lines) ran
 * last, on one fork, while the other sat idle.
 *
 * The seconds are wall times of a full run on 2 cores (vitest's results cache and the CI log), those
 * of files since made cheaper scaled by their measured CPU (SELFEMD_TEST_CPU_LOG); only their order
 * matters. A file that has become long belongs here; a renamed one no longer sorts first.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const LONG_FILES: Record<string, number> = {
  'test/e2e/studio.e2e.test.ts': 85,
  'test/engine/detection/default-recipe.test.ts': 79,
  'test/engine/train/webgpu-pretrain.test.ts': 75,
  'test/engine/detection/mask-rcnn-overfit.test.ts': 68,
  // webgpu-finetune-memory (47) and webgpu-detection-step (29.5), merged: one compile of each program
  'test/engine/detection/webgpu-detection.test.ts': 60,
  'test/jobs/study-run.test.ts': 32,
  'test/jobs/slurm/slurm-executor.test.ts': 29.5,
  'test/jobs/kill-storm.test.ts': 27,
  'test/cli/finetune-cli.test.ts': 23.5,
  'test/jobs/finetune-run.test.ts': 23,
  'test/e2e/layout-1280.e2e.test.ts': 22.6,
  'test/engine/train/pretrain.test.ts': 21,
  'test/e2e/clusters.e2e.test.ts': 19.3,
  'test/engine/data/webgpu-augment.test.ts': 18,
  'test/jobs/disk-full.test.ts': 16.7,
  'test/engine/backend/webgpu-equivalence.test.ts': 16.1,
  'test/e2e/study.e2e.test.ts': 16,
  'test/bench/torch-detection-reference.test.ts': 14.6,
  'test/engine/detection/retinanet-overfit.test.ts': 14,
  'test/engine/export/torch-load.test.ts': 13.7,
  'test/app/gpu-host-worker.test.ts': 12.4,
  'test/engine/export/torch-file.test.ts': 12.4,
  'test/server/ctrl-c.test.ts': 11,
  'test/e2e/datasets-ux.e2e.test.ts': 11,
  'test/e2e/finetune.e2e.test.ts': 7.5,
  'test/jobs/run-manager.test.ts': 7,
};

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    const seconds = (f: TestSpecification) => {
      const rel = f.moduleId.slice(this.ctx.config.root.length + 1).replaceAll('\\', '/');
      return LONG_FILES[rel] ?? 0;
    };
    // stable: files not listed keep vitest's order after the listed ones
    return rest
      .map((f, i) => ({ f, i, s: seconds(f) }))
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .map((x) => x.f);
  }
}
