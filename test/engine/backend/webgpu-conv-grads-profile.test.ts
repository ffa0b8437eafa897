/**
 * Structure, not speed (SwiftShader's times say nothing about a GPU): profiling one training step
 * of a tiny ResNet-18 on webgpu (tf.profile), the conv weight and input gradients run TF.js's tiled
 * matMul/conv programs, and neither its naive weight-gradient shader (Conv2DDerFilterProgram) nor
 * its naive input-gradient shader (Conv2DDerInputProgram) runs at all.
 * Program names come from tf.profile's per-kernel `extraInfo` (bench/program-profile.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { profilePrograms } from '../../../bench/program-profile';
import { supervisedStepper } from '../../../bench/supervised-step';
import { releaseBackend } from '../../../src-main/engine/backend/select';
import { probeWebGpu, reportSkip } from './webgpu-harness';

const probe = await probeWebGpu();
reportSkip('webgpu-conv-grads-profile.test.ts', probe);
afterAll(() => releaseBackend());

const NAIVE = ['Conv2DDerFilterProgram', 'Conv2DDerInputProgram'];
/** TF.js's tiled programs: matMul in its packed / split-K / small-output forms, and its conv and
 * transposed-conv MM programs. */
const TILED =
  /^(MatMulPackedProgram|MatMulSplitKProgram|MatMulSmallOutputSizeProgram|Conv2DMMProgram|Conv2DDerInputMMProgram)$/;

describe.skipIf(!probe.info)('one tiny ResNet-18 training step on webgpu', () => {
  it('runs the conv gradients through tiled programs, never the naive shaders', async () => {
    const stepper = supervisedStepper({ backbone: 'resnet18', width: 4, batch: 2, size: 32 });
    try {
      await stepper.step(); // pipelines compiled outside the profile
      const p = await profilePrograms(() => stepper.step());
      // ResNet-18: 20 convolutions, all with weight gradients; all but the stem with input gradients.
      expect(p.kernels.get('Conv2DBackpropFilter')?.count).toBe(20);
      expect(p.kernels.get('Conv2DBackpropInput')?.count).toBe(19);
      for (const naive of NAIVE) expect(p.programs.has(naive), `${naive} ran`).toBe(false);
      for (const kernel of ['Conv2DBackpropFilter', 'Conv2DBackpropInput']) {
        const tiled = [...p.programKernels]
          .filter(([program, by]) => TILED.test(program) && by.has(kernel))
          .map(([program]) => program);
        expect(tiled.length, `tiled programs under ${kernel}`).toBeGreaterThan(0);
      }
    } finally {
      stepper.dispose();
    }
  }, 300_000);
});
