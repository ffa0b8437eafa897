/**
 * What this machine can train with: the probing half of a run's defaults (the pure half, which sizes
 * suit it, is shared/config/run-defaults.ts). Backends are only located here, never loaded: loading
 * TF.js belongs to the training process. Whether webgpu has an adapter can only be learnt by asking
 * Dawn, so `probeWebGpu` asks an engine worker started as a webgpu run's would be (in the desktop app
 * the plain-Node GPU host), and `withWebGpu` folds its answer into the listing.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type { BackendChoice } from '../../../shared/config/pretrain';
import type { HardwareInfo } from '../../../shared/api/types';
import type { WebGpuStatus } from '../../../shared/dto/gpu-adapter';
import { runEngineTask } from '../tasks';
import type { WorkerSpawner } from '../worker-process';

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** The listing before any probe: webgpu is `probing` while one runs, else not probed (unavailable). */
export function detectHardware(
  webgpu: WebGpuStatus = {
    state: 'unavailable',
    reason: 'not probed (the CLI: run `selfemd info --backend webgpu`)',
  },
): HardwareInfo {
  const gpu = installed('@tensorflow/tfjs-node-gpu');
  const native = installed('@tensorflow/tfjs-node');
  const backends: BackendChoice[] = ['auto'];
  if (gpu) backends.push('tfjs-node-gpu');
  if (webgpu.state === 'available') backends.push('webgpu');
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
    webgpu,
  };
}

/** The listing with a probe's answer: webgpu among the backends when it found an adapter. */
export function withWebGpu(hardware: HardwareInfo, webgpu: WebGpuStatus): HardwareInfo {
  const backends: BackendChoice[] = hardware.backends.filter((b) => b !== 'webgpu');
  if (webgpu.state === 'available') {
    // In `auto`'s order: after tfjs-node-gpu, before tfjs-node.
    const at = backends.indexOf('tfjs-node-gpu') + 1 || 1;
    backends.splice(at, 0, 'webgpu');
  }
  return { ...hardware, backends, webgpu };
}

/**
 * Asks an engine worker (started by `spawner` as for a webgpu job) which adapter webgpu would get.
 * A worker that fails or dies is an answer too: webgpu is unavailable, for the reason given.
 */
export async function probeWebGpu(spawner?: WorkerSpawner): Promise<WebGpuStatus> {
  try {
    return await runEngineTask<WebGpuStatus>({ kind: 'gpu-probe' }, spawner);
  } catch (e) {
    return { state: 'unavailable', reason: `the GPU probe failed: ${(e as Error).message}` };
  }
}
