/**
 * webgpu in the studio's listing: where the probe's answer puts it among the backends, what the
 * backend picker calls it (the adapter, a fallback marked) or says when it is unavailable, and what
 * `auto` trains on and at which sizes once a GPU adapter is known.
 */
import { describe, expect, it } from 'vitest';
import { backendOptions, webGpuHelp, webGpuShort } from '../../shared/api/backend-choices';
import type { HardwareInfo } from '../../shared/api/types';
import { cpuDemoOverrides } from '../../shared/config/pretrain';
import { backendInUse, finetuneDefaults, pretrainDefaults } from '../../shared/config/run-defaults';
import type { GpuAdapterInfo, WebGpuStatus } from '../../shared/dto/gpu-adapter';
import { detectHardware, withWebGpu } from '../../src-main/jobs/service/hardware';

const adapter = (over: Partial<GpuAdapterInfo> = {}): GpuAdapterInfo => ({
  vendor: 'nvidia',
  architecture: 'ampere',
  device: '',
  description: 'NVIDIA GeForce RTX 3060',
  fallback: false,
  maxBufferSize: 2 ** 32,
  maxStorageBufferBindingSize: 2 ** 31,
  powerPreference: 'high-performance',
  ...over,
});
const SWIFTSHADER = adapter({
  vendor: 'google',
  architecture: 'swiftshader',
  device: 'swiftshader-device-subzero-',
  description: 'SwiftShader driver 5.0.0',
  fallback: true,
});
const machine = (backends: HardwareInfo['backends'], webgpu: WebGpuStatus): HardwareInfo =>
  withWebGpu({ ...detectHardware(), backends, cpus: 8 }, webgpu);

describe('webgpu in the hardware listing', () => {
  it('is listed in auto’s order once the probe found an adapter, and not otherwise', () => {
    expect(
      machine(['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'], {
        state: 'available',
        adapter: adapter(),
      }).backends,
    ).toEqual(['auto', 'tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu']);
    expect(machine(['auto', 'wasm', 'cpu'], { state: 'available', adapter: SWIFTSHADER }).backends).toEqual([
      'auto',
      'webgpu',
      'wasm',
      'cpu',
    ]);
    const gone = withWebGpu(machine(['auto', 'wasm', 'cpu'], { state: 'available', adapter: adapter() }), {
      state: 'unavailable',
      reason: 'no GPU adapter',
    });
    expect(gone.backends).toEqual(['auto', 'wasm', 'cpu']);
    expect(gone.webgpu).toEqual({ state: 'unavailable', reason: 'no GPU adapter' });
    expect(detectHardware({ state: 'probing' }).backends).not.toContain('webgpu');
  });

  it('the picker names the adapter, marks a fallback one, and says why webgpu is unavailable', () => {
    const hw = machine(['auto', 'wasm', 'cpu'], { state: 'available', adapter: SWIFTSHADER });
    expect(backendOptions(hw)).toEqual([
      { value: 'auto', label: 'auto (the fastest here)' },
      {
        value: 'webgpu',
        label: 'webgpu · google swiftshader — SwiftShader driver 5.0.0 (fallback: software emulation)',
      },
      { value: 'wasm', label: 'wasm' },
      { value: 'cpu', label: 'cpu' },
    ]);
    expect(webGpuHelp(hw.webgpu)).toMatch(
      /^webgpu: google swiftshader .*fallback adapter.*; auto passes a fallback adapter over$/,
    );
    expect(webGpuShort(hw.webgpu)).toBe('google swiftshader (fallback)');

    const real = machine(['auto', 'wasm', 'cpu'], { state: 'available', adapter: adapter() });
    expect(backendOptions(real)[1]).toEqual({
      value: 'webgpu',
      label: 'webgpu · nvidia ampere — NVIDIA GeForce RTX 3060',
    });
    expect(webGpuHelp(real.webgpu)).toContain('auto trains on it unless tfjs-node-gpu loads');

    const none: WebGpuStatus = { state: 'unavailable', reason: 'no Vulkan loader (libvulkan.so.1)' };
    expect(webGpuHelp(none)).toBe('webgpu unavailable: no Vulkan loader (libvulkan.so.1)');
    expect(webGpuShort(none)).toBe('none');
    expect(webGpuHelp({ state: 'probing' })).toMatch(/looking/);
  });

  it('auto trains on a hardware adapter at the paper’s sizes, never on a fallback one', () => {
    const gpu = machine(['auto', 'tfjs-node', 'wasm', 'cpu'], { state: 'available', adapter: adapter() });
    expect(backendInUse(gpu)).toBe('webgpu');
    expect(pretrainDefaults(gpu)).toEqual({ label: 'GPU (webgpu): the paper’s sizes', overrides: {} });
    expect(finetuneDefaults(gpu).overrides).toEqual({});

    const soft = machine(['auto', 'tfjs-node', 'wasm', 'cpu'], { state: 'available', adapter: SWIFTSHADER });
    expect(backendInUse(soft)).toBe('tfjs-node');
    // Asked for explicitly, a fallback adapter trains at the sizes wasm can finish.
    expect(backendInUse(soft, 'webgpu')).toBe('webgpu');
    expect(pretrainDefaults(soft, 'webgpu').overrides).toEqual(cpuDemoOverrides());

    // tfjs-node-gpu stays first where both GPU backends load.
    const both = machine(['auto', 'tfjs-node-gpu', 'wasm', 'cpu'], {
      state: 'available',
      adapter: adapter(),
    });
    expect(backendInUse(both)).toBe('tfjs-node-gpu');
  });
});
