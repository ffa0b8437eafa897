/**
 * The desktop app's GPU host end to end, without an Electron binary: the app's spawner (a fake
 * utilityProcess that must not be used) starts the BUILT engine worker under this machine's plain
 * Node for a webgpu job, over the same protocol as every worker. The GPU probe answers through it,
 * and a tiny pretraining run trains one step on webgpu (SwiftShader here), reporting its adapter.
 * Skips with one line where no adapter can be had; fails under CI=true (.ci/run provides SwiftShader).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebGpuStatus } from '../../shared/dto/gpu-adapter';
import { findGpuHost } from '../../src-main/app/gpu-host';
import { appWorkerSpawner, type UtilityProcessApi } from '../../src-main/app/utility-spawner';
import { probeWebGpu } from '../../src-main/jobs/service/hardware';
import type { EngineJob, WorkerMessage } from '../../src-main/jobs/protocol';
import type { WorkerSpawner } from '../../src-main/jobs/worker-process';
import { tinyConfig } from '../engine/train/tiny-config';
import { reportSkip } from '../engine/backend/webgpu-harness';
import { appDir, ensureAppBuilt, message, type WorkerRun } from './built-app';

ensureAppBuilt();

const noUtilityProcess: UtilityProcessApi = {
  fork: () => {
    throw new Error('a webgpu job was given a utilityProcess, where dawn.node cannot run');
  },
};
// This machine's Node, found on PATH as the app finds it.
const host = findGpuHost({ env: { PATH: path.dirname(process.execPath) } });
const spawner: WorkerSpawner = appWorkerSpawner({
  utilityProcess: noUtilityProcess,
  entry: path.join(appDir, 'engine-worker.cjs'),
  gpuHost: () => host,
  hardwareAdapter: () => false,
});

const probe: WebGpuStatus = await probeWebGpu(spawner);
reportSkip(
  path.basename(__filename),
  probe.state === 'available'
    ? { info: probe }
    : { reason: probe.state === 'unavailable' ? probe.reason : '' },
);

function run(job: EngineJob): Promise<WorkerRun> {
  const handle = spawner({ backend: 'webgpu' });
  const messages: WorkerMessage[] = [];
  handle.onMessage((m) => messages.push(m));
  handle.send({ type: 'start', job });
  return new Promise((resolve) => handle.onExit((code) => resolve({ code, messages, stderr: '' })));
}

describe.skipIf(probe.state !== 'available')('the GPU host runs the built engine worker on webgpu', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'selfemd-gpu-host-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the probe names the adapter a webgpu run gets', () => {
    if (probe.state !== 'available') throw new Error('unreachable');
    expect(probe.adapter.vendor.length).toBeGreaterThan(0);
    expect(probe.adapter.maxBufferSize).toBeGreaterThan(0);
    expect(probe.adapter.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('pretrains one step on webgpu under plain Node, over the same protocol', async () => {
    // BYOL, two images: SwiftShader emulates the GPU on the CPU, and compiles every shader once.
    const config = tinyConfig({
      backend: 'webgpu',
      method: 'byol',
      data: { demoImages: 2 },
      optim: { epochs: 1, batchSize: 2 },
    });
    const r = await run({ kind: 'pretrain', runId: 'gpu-host', config, runDir: dir, resume: false });
    const backend = message(r, 'backend').info;
    expect(backend.choice).toBe('webgpu');
    expect(backend.cheapHostReads).toBe(false);
    if (probe.state === 'available') expect(backend.gpu).toEqual(probe.adapter);
    expect(message(r, 'finished').result).toMatchObject({ status: 'completed', step: 1, totalSteps: 1 });
    expect(r.code).toBe(0);
    const losses = r.messages.flatMap((m) =>
      m.type === 'metrics' ? m.points.filter((p) => p.key === 'loss/total').map((p) => p.value) : [],
    );
    expect(losses).toHaveLength(1);
    expect(Number.isFinite(losses[0])).toBe(true);
    expect(message(r, 'checkpoint').step).toBe(1);
  }, 300_000);
});
