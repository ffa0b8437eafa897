/** A run's defaults as a function of the machine and the backend asked for (shared/config/run-defaults.ts). */
import { describe, expect, it } from 'vitest';
import { cpuFinetuneOverrides, resolveFinetuneConfig } from '../../shared/config/finetune';
import { cpuDemoOverrides, resolvePretrainConfig } from '../../shared/config/pretrain';
import {
  backendInUse,
  finetuneDefaults,
  finetuneDefaultsByDetector,
  pretrainDefaults,
  requestedBackend,
  withRunDefaults,
  type MachineDescription,
} from '../../shared/config/run-defaults';

const GPU: MachineDescription = { backends: ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'], cpus: 8 };
const NATIVE: MachineDescription = { backends: ['auto', 'tfjs-node', 'wasm', 'cpu'], cpus: 4 };
const WASM: MachineDescription = { backends: ['auto', 'wasm', 'cpu'], cpus: 2 };

describe('run defaults', () => {
  it('auto runs on the first backend that loads; a named backend is taken as asked', () => {
    expect(backendInUse(GPU)).toBe('tfjs-node-gpu');
    expect(backendInUse(NATIVE, 'auto')).toBe('tfjs-node');
    expect(backendInUse(WASM)).toBe('wasm');
    expect(backendInUse({ backends: ['auto'], cpus: 1 })).toBe('cpu');
    expect(backendInUse(GPU, 'wasm')).toBe('wasm');
  });

  it('the sizes follow the backend the run gets, not only the machine', () => {
    expect(pretrainDefaults(GPU).overrides).toEqual({});
    expect(pretrainDefaults(WASM).overrides).toEqual(cpuDemoOverrides());
    expect(pretrainDefaults(NATIVE).overrides).toMatchObject({
      data: { imageSize: 128 },
      optim: { epochs: 20 },
    });
    // A GPU machine asked to train on wasm gets the sizes wasm can finish.
    expect(pretrainDefaults(GPU, 'wasm').overrides).toEqual(pretrainDefaults(WASM).overrides);
    expect(pretrainDefaults(GPU, 'wasm').label).toBe('wasm (8 cores): small demo sizes');
    expect(finetuneDefaults(GPU).overrides).toEqual({});
    expect(finetuneDefaults(GPU, 'cpu').overrides).toEqual(cpuFinetuneOverrides('retinanet'));
    expect(finetuneDefaults(NATIVE).overrides).toEqual(cpuFinetuneOverrides('retinanet'));
    expect(finetuneDefaults(NATIVE, 'auto', 'faster-rcnn').overrides).toEqual(
      cpuFinetuneOverrides('faster-rcnn'),
    );
  });

  it('on a CPU each detector gets its own image and anchor sizes; on a GPU both get detectron2’s', () => {
    const cpu = (detector?: string, more: Record<string, unknown> = {}) =>
      resolveFinetuneConfig(
        withRunDefaults('finetune', WASM, { ...(detector ? { detector } : {}), ...more }),
      );
    // RetinaNet (the default detector) at 192 px with anchors scaled to match; Faster R-CNN at 128 px.
    for (const r of [cpu(), cpu('retinanet')]) {
      expect(r.detector).toBe('retinanet');
      expect(r.data).toMatchObject({ minSizeTrain: [160, 192], minSizeTest: 192, maxSizeTest: 320 });
      expect(r.retinanet.anchorSizes).toEqual([12, 24, 48, 96, 192]);
      expect(r.optim.epochs).toBe(20);
    }
    const f = cpu('faster-rcnn');
    expect(f.data).toMatchObject({ minSizeTrain: [96, 128], minSizeTest: 128, maxSizeTest: 213 });
    expect(f.rpn.anchorSizes).toEqual([8, 16, 32, 64, 128]);
    expect(f.optim.epochs).toBe(12);
    // Shared by both: the scenes, backbone and optimiser.
    expect(cpu('retinanet').data.demoSize).toBe(f.data.demoSize);
    expect(cpu('retinanet').optim.lr).toBe(f.optim.lr);
    // The request's own sizes win over the detector's.
    const asked = cpu('retinanet', {
      data: { minSizeTest: 160 },
      retinanet: { anchorSizes: [8, 16, 32, 64, 128] },
    });
    expect(asked.data.minSizeTest).toBe(160);
    expect(asked.retinanet.anchorSizes).toEqual([8, 16, 32, 64, 128]);
    // A GPU run keeps detectron2's sizes for both detectors.
    const byDetector = finetuneDefaultsByDetector(GPU);
    expect(byDetector.retinanet.overrides).toEqual({});
    expect(byDetector['faster-rcnn'].overrides).toEqual({});
    expect(finetuneDefaultsByDetector(WASM)['faster-rcnn']).toEqual(
      finetuneDefaults(WASM, 'auto', 'faster-rcnn'),
    );
    // The returned presets are copies: editing one does not change the next.
    (cpuFinetuneOverrides('retinanet').retinanet as { anchorSizes: number[] }).anchorSizes.push(1);
    expect(cpuFinetuneOverrides('retinanet').retinanet).toMatchObject({ anchorSizes: [12, 24, 48, 96, 192] });
  });

  it('every default resolves to a valid config', () => {
    for (const m of [GPU, NATIVE, WASM]) {
      expect(() => resolvePretrainConfig(pretrainDefaults(m).overrides)).not.toThrow();
      expect(() => resolveFinetuneConfig(finetuneDefaults(m).overrides)).not.toThrow();
    }
  });

  it('the CPU demo pretraining trains the backbone the CPU fine-tune recipes use', () => {
    // A fine-tune from a pretraining run takes the run's backbone, so the default pipeline (demo
    // pretraining, then the default fine-tune from it) runs the measured recipe only if they agree.
    const pretrain = resolvePretrainConfig(withRunDefaults('pretrain', WASM, {}));
    for (const detector of ['faster-rcnn', 'retinanet'] as const) {
      const { name, baseWidth } = resolveFinetuneConfig(cpuFinetuneOverrides(detector)).backbone;
      expect(pretrain.backbone).toEqual({ name, baseWidth });
    }
    // width 16 is ~0.4× a width-32 step: 3 epochs take the CPU time 1 epoch at width 32 took
    expect(pretrain.optim.epochs).toBe(3);
  });

  it('overrides win over the defaults of the backend they name', () => {
    expect(requestedBackend({ backend: 'cpu' })).toBe('cpu');
    expect(requestedBackend({ backend: 'tpu' })).toBe('auto');
    expect(requestedBackend(undefined)).toBe('auto');
    const c = resolvePretrainConfig(
      withRunDefaults('pretrain', GPU, { backend: 'wasm', optim: { epochs: 3 } }),
    );
    expect(c.optim.epochs).toBe(3);
    expect(c.data.imageSize).toBe(96);
    expect(c.backbone.baseWidth).toBe(16);
    expect(resolvePretrainConfig(withRunDefaults('pretrain', GPU, {})).data.imageSize).toBe(224);
    const f = resolveFinetuneConfig(withRunDefaults('finetune', WASM, { backbone: { baseWidth: 8 } }));
    expect(f.backbone).toMatchObject({ name: 'resnet18', baseWidth: 8 });
    expect(f.data.demoSize).toBe(128);
  });
});
