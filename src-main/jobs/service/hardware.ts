/**
 * What this machine can train with, and a run size that suits it. Backends are only located here,
 * never loaded: loading TF.js belongs to the training process.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { cpuFinetuneOverrides } from '../../../shared/config/finetune';
import { cpuDemoOverrides, type BackendChoice } from '../../../shared/config/pretrain';
import type { HardwareInfo, SystemInfo } from '../../../shared/api/types';

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

export function detectHardware(): HardwareInfo {
  const gpu = installed('@tensorflow/tfjs-node-gpu');
  const native = installed('@tensorflow/tfjs-node');
  const backends: BackendChoice[] = ['auto'];
  if (gpu) backends.push('tfjs-node-gpu');
  if (native) backends.push('tfjs-node');
  if (installed('@tensorflow/tfjs-backend-wasm')) backends.push('wasm');
  backends.push('cpu');
  const cpus = os.cpus();
  return {
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    totalMemoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    backends,
    gpu,
  };
}

/** Defaults for the new-run form: the paper's sizes on a GPU, a run that finishes in minutes elsewhere. */
export function recommendedConfig(hw: HardwareInfo): SystemInfo['recommended'] {
  if (hw.gpu) return { label: 'GPU (tfjs-node-gpu): the paper’s sizes', overrides: {} };
  if (hw.backends.includes('tfjs-node'))
    return {
      label: `native CPU (${hw.cpus} cores): reduced sizes`,
      overrides: {
        backbone: { name: 'resnet18', baseWidth: 32 },
        data: { imageSize: 128 },
        optim: { epochs: 20, batchSize: 32, lr: 0.05, warmupEpochs: 1 },
        byol: { projectorHidden: 1024, projectionDim: 128, predictorHidden: 1024 },
        emd: { scaleViewSize: 64 },
      },
    };
  return { label: `wasm/CPU (${hw.cpus} cores): small demo sizes`, overrides: cpuDemoOverrides() };
}

/** Defaults for the fine-tune form: detectron2's sizes on a GPU, CPU sizes (minutes on the demo scenes) elsewhere. */
export function recommendedFinetuneConfig(hw: HardwareInfo): SystemInfo['recommendedFinetune'] {
  if (hw.gpu) return { label: 'GPU (tfjs-node-gpu): detectron2’s sizes', overrides: {} };
  return { label: `CPU (${hw.cpus} cores): small detector sizes`, overrides: cpuFinetuneOverrides() };
}
