/**
 * What this machine can train with: the probing half of a run's defaults (the pure half, which sizes
 * suit it, is shared/config/run-defaults.ts). Backends are only located here, never loaded: loading
 * TF.js belongs to the training process.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type { BackendChoice } from '../../../shared/config/pretrain';
import type { HardwareInfo } from '../../../shared/api/types';

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
