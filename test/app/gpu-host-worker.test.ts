/**
 * The desktop app's GPU host end to end, without an Electron binary: the app's spawner (a fake
 * utilityProcess that must not be used) starts the BUILT engine worker under this machine's plain
 * Node for a webgpu job, over the same protocol as every worker. The GPU probe answers through it,
 * and a tiny pretraining run, supervised by RunManager as in the app, trains one step on webgpu
 * (SwiftShader here): its record names the backend, the adapter (what run detail shows) and the
 * adapter asked for, its loss and checkpoint are recorded. Skips with one line where no adapter can be had; fails under
 * CI=true (.ci/run provides SwiftShader).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gpuLine, type WebGpuStatus } from '../../shared/dto/gpu-adapter';
import { findGpuHost } from '../../src-main/app/gpu-host';
import { appWorkerSpawner, type UtilityProcessApi } from '../../src-main/app/utility-spawner';
import { probeWebGpu } from '../../src-main/jobs/service/hardware';
import { RunManager } from '../../src-main/jobs/run-manager';
import { openStore } from '../../src-main/store';
import type { WorkerSpawner } from '../../src-main/jobs/worker-process';
import { tinyConfig } from '../engine/train/tiny-config';
import { reportSkip } from '../engine/backend/webgpu-harness';
import { appDir, ensureAppBuilt } from './built-app';
import { tempDir } from '../temp-dir';

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

describe.skipIf(probe.state !== 'available')('the GPU host runs the built engine worker on webgpu', () => {
  const dir = tempDir('selfemd-gpu-host-');

  it('the probe names the adapter a webgpu run gets', () => {
    if (probe.state !== 'available') throw new Error('unreachable');
    expect(probe.adapter.vendor.length).toBeGreaterThan(0);
    expect(probe.adapter.maxBufferSize).toBeGreaterThan(0);
    expect(probe.adapter.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('pretrains one step on webgpu under plain Node, recording the run’s backend and adapter', async () => {
    // BYOL, two images: SwiftShader emulates the GPU on the CPU, and compiles every shader once.
    const config = tinyConfig({
      backend: 'webgpu',
      method: 'byol',
      data: { demoImages: 2 },
      optim: { epochs: 1, batchSize: 2 },
    });
    const store = openStore(path.join(dir, 'studio.db'));
    const manager = new RunManager(store, { home: dir, spawner });
    try {
      const started = manager.startPretrain(config);
      const run = await manager.wait(started.id);
      expect(run.error).toBeNull();
      expect(run).toMatchObject({ status: 'completed', step: 1, totalSteps: 1 });
      if (probe.state !== 'available') throw new Error('unreachable');
      // The adapter as a line and field by field, and what was asked for (no --gpu: Dawn's choice).
      expect(run.backend).toMatchObject({
        name: 'webgpu',
        requested: 'webgpu',
        device: gpuLine(probe.adapter),
        adapter: probe.adapter,
        gpuRequest: { name: process.env.SELFEMD_GPU?.trim() || null, power: probe.adapter.powerPreference },
      });
      const [loss] = store.getMetrics(run.id, ['loss/total']);
      expect(loss!.points).toHaveLength(1);
      expect(Number.isFinite(loss!.points[0]!.value)).toBe(true);
      expect(store.lastCheckpoint(run.id)?.step).toBe(1);
    } finally {
      await manager.shutdown();
      store.close();
    }
  }, 300_000);
});
