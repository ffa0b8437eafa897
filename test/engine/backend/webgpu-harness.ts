/**
 * For the webgpu test files: set up the webgpu backend once per file (an explicit request, so
 * SwiftShader's software adapter is accepted where no GPU exists). Where no adapter can be had the
 * files skip with one line saying why, except under CI=true, where .ci/run provides SwiftShader
 * and a missing adapter is a failure.
 */
import { expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../../../src-main/engine/backend/select';

export interface WebGpuProbe {
  info?: BackendInfo;
  reason?: string;
}

export async function probeWebGpu(): Promise<WebGpuProbe> {
  try {
    return { info: await initBackend('webgpu', { env: {} }) };
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Call at the top level of a test file: prints the skip line, or adds a failing test under CI. */
export function reportSkip(file: string, probe: { info?: unknown; reason?: string }): void {
  if (probe.info) return;
  if (process.env.CI === 'true')
    it('has a webgpu adapter (CI provides SwiftShader)', () => {
      throw new Error(`no webgpu adapter under CI: ${probe.reason}`);
    });
  else console.warn(`${file}: webgpu tests skipped, no adapter: ${probe.reason}`);
}

/**
 * What a run that keeps its shapes fixed shows, from memory samples taken after each step: the same
 * live tensor count at every step, and no growth of the GPU bytes allocated once the pool has filled.
 * Filling takes the first `warmup` steps: the pool grows to the largest number of buffers of one size
 * alive at once, which varies a little with when TF.js submits work and releases buffers (measured:
 * RetinaNet needs two more buffers of one size at its third step, then nothing). After that it may
 * grow by UNIFORM_SLACK at most: uniform buffers (a few hundred bytes each) are pooled by size the
 * first time a program runs (a colour op only some batches draw). A tensor whose shape changes from
 * step to step allocates at least a feature map's size, every step, far more.
 */
export const UNIFORM_SLACK = 2048;

export function expectFlatMemory(
  samples: { numTensors: number; gpuBytesAllocated?: number }[],
  label: string,
  warmup = 2,
): void {
  const tensors = samples.map((m) => m.numTensors);
  expect(tensors, `${label}: live tensors per step`).toEqual(tensors.map(() => tensors[0]));
  const allocated = samples.map((m) => m.gpuBytesAllocated);
  expect(allocated.length, `${label}: steps after warm-up`).toBeGreaterThanOrEqual(warmup + 2);
  const after = allocated.slice(warmup) as number[];
  expect(after[0], `${label}: GPU bytes allocated`).toBeGreaterThan(0);
  const growth = Math.max(...after) - after[0]!;
  expect(growth, `${label}: GPU bytes allocated per step: ${allocated.join(', ')}`).toBeLessThanOrEqual(
    UNIFORM_SLACK,
  );
}
