/**
 * The studio learns whether webgpu runs where it starts runs from a probe (an engine worker asked
 * which adapter it gets): system.info says `probing` until the answer, then lists webgpu with its
 * adapter, sizes `auto` for it, and tells the views (system.changed). The probe starts lazily, once:
 * opening the studio or answering requests that need no machine description starts no GPU worker.
 * A probe whose worker dies or fails is an answer too: unavailable, with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudioEvent } from '../../shared/api/events';
import type { SystemInfo } from '../../shared/api/types';
import type { WebGpuStatus } from '../../shared/dto/gpu-adapter';
import { probeWebGpu } from '../../src-main/jobs/service/hardware';
import { StudioService } from '../../src-main/jobs/studio-service';
import type { WorkerMessage } from '../../src-main/jobs/protocol';
import type { WorkerHandle, WorkerSpawner } from '../../src-main/jobs/worker-process';
import { AMD_ADAPTER, tempHome } from './fixtures';

const ADAPTER = AMD_ADAPTER;

let home: ReturnType<typeof tempHome>;
let service: StudioService;
let answer!: (s: WebGpuStatus) => void;
let probes = 0;
const events: StudioEvent[] = [];

beforeAll(() => {
  home = tempHome();
  service = StudioService.open({
    home: home.dir,
    transport: 'browser',
    version: 'test',
    seedDemos: false,
    probeGpu: () => {
      probes++;
      return new Promise((resolve) => (answer = resolve));
    },
  });
  service.on((e) => events.push(e));
});
afterAll(async () => {
  await service.close();
  home.cleanup();
});

const info = async () => {
  const r = await service.handle('system.info', {});
  if (!r.ok) throw new Error(r.error.message);
  return r.value as SystemInfo;
};

describe('the GPU probe in the studio', () => {
  it('starts no probe at open, nor for requests that need no machine description', async () => {
    expect(probes).toBe(0);
    const runs = await service.handle('runs.list', {});
    expect(runs.ok).toBe(true);
    expect(probes).toBe(0);
  });

  it('says it is looking, then lists webgpu with its adapter and the sizes auto gets on it', async () => {
    const before = await info();
    expect(probes).toBe(1);
    expect(before.hardware.webgpu).toEqual({ state: 'probing' });
    await info();
    expect(probes).toBe(1);
    expect(before.hardware.backends).not.toContain('webgpu');
    expect(before.recommended.label).not.toMatch(/GPU/);

    answer({ state: 'available', adapter: ADAPTER });
    await new Promise((r) => setTimeout(r, 0));
    const after = await info();
    expect(after.hardware.webgpu).toEqual({ state: 'available', adapter: ADAPTER });
    expect(after.hardware.backends).toContain('webgpu');
    expect(after.recommended).toEqual({ label: 'GPU (webgpu): the paper’s sizes', overrides: {} });
    const changed = events.filter((e) => e.name === 'system.changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]!.payload).toEqual(after);
    expect(probes).toBe(1);
  });
});

/** A spawner whose worker answers `messages`, then exits with `code`. */
function scripted(messages: WorkerMessage[], code: number): WorkerSpawner {
  return () => {
    const listeners: ((m: WorkerMessage) => void)[] = [];
    let onExit: (code: number | null, signal: string | null) => void = () => undefined;
    const handle: WorkerHandle = {
      pid: 1,
      send: (m) => {
        expect(m).toEqual({ type: 'start', job: { kind: 'gpu-probe' } });
        setTimeout(() => {
          for (const msg of messages) for (const l of listeners) l(msg);
          onExit(code, null);
        }, 0);
      },
      onMessage: (l) => listeners.push(l),
      onExit: (l) => (onExit = l),
      kill: () => undefined,
    };
    return handle;
  };
}

describe('probeWebGpu', () => {
  it('returns what the worker found', async () => {
    const status: WebGpuStatus = { state: 'available', adapter: ADAPTER };
    expect(await probeWebGpu(scripted([{ type: 'result', result: status }], 0))).toEqual(status);
  });

  it('a worker that fails or dies means unavailable, saying why', async () => {
    expect(
      await probeWebGpu(scripted([{ type: 'failed', name: 'Error', message: 'dawn.node crashed' }], 1)),
    ).toEqual({
      state: 'unavailable',
      reason: 'the GPU probe failed: dawn.node crashed',
    });
    expect(await probeWebGpu(scripted([], 134))).toEqual({
      state: 'unavailable',
      reason: "the GPU probe failed: the gpu-probe task's process exited with code 134",
    });
  });
});
