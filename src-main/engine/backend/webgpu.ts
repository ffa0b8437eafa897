/**
 * The `webgpu` backend: TF.js's WebGPU kernels (@tensorflow/tfjs-backend-webgpu) on a device created
 * here from Dawn's Node bindings (the `webgpu` package, whose `dawn.node` ships inside the package for
 * every platform). Vulkan on Linux, Metal on macOS, D3D12 on Windows.
 *
 * Why the device is created here rather than by the package's own registration: tfjs-backend-webgpu
 * 4.22 pushes `['bgra8unorm-storage']` (an array, not a name) into `requiredFeatures`, which strict
 * bindings reject on adapters exposing that feature (real GPUs). We ask for `timestamp-query` only
 * (tf.profile's kernel times) and the adapter's own buffer limits, then register
 * `new WebGPUBackend(device, adapterInfo)`. The package is imported before `navigator.gpu` exists,
 * so its own registration never happens.
 *
 * Fallback adapters (SwiftShader, a CPU emulation of Vulkan) are for correctness tests: `auto` never
 * takes one, an explicit `webgpu` does. On Linux, when a fallback is acceptable, SwiftShader's Vulkan
 * driver is looked for where Chromium ships it (with its Vulkan loader, when the system has none) and
 * added to the loader's driver list before Dawn starts; a real GPU stays visible and is preferred.
 *
 * Dawn's objects keep native resources (and can keep the process alive): `releaseWebGpu()` at the end
 * of a job destroys the device and drops the instance.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adapterLine, type GpuAdapterInfo, type GpuPowerPreference } from '../../../shared/dto/gpu-adapter';
import { registerWebGpuKernels } from './webgpu-kernels';

export interface WebGpuRequest {
  /** Accept a fallback (software) adapter: explicit `webgpu` only, never `auto`. */
  allowFallback: boolean;
  /** Dawn's adapter filter: a case-sensitive part of the adapter's name. */
  adapterName?: string;
  powerPreference: GpuPowerPreference;
}

/** Chromium's library folders, where Debian, Fedora, Ubuntu and Google's builds put SwiftShader. */
const SWIFTSHADER_DIRS = [
  '/usr/lib/chromium',
  '/usr/lib64/chromium',
  '/usr/lib/chromium-browser',
  '/usr/lib64/chromium-browser',
  '/opt/google/chrome',
  '/snap/chromium/current/usr/lib/chromium-browser',
];
const SWIFTSHADER_ICD = 'vk_swiftshader_icd.json';
const VULKAN_LOADER = 'libvulkan.so.1';
// glibc's RTLD_NODELETE: process.dlopen unloads a library that is not a Node addon, unless this is set.
const RTLD_NODELETE = 0x1000;

interface DawnGpu {
  requestAdapter(options?: {
    powerPreference?: GpuPowerPreference;
    forceFallbackAdapter?: boolean;
  }): Promise<DawnAdapter | null>;
}
interface DawnAdapter {
  info: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor: object): Promise<DawnDevice>;
}
interface DawnDevice {
  destroy(): void;
  lost: Promise<unknown>;
}

interface Live {
  gpu: DawnGpu;
  device: DawnDevice;
  info: GpuAdapterInfo;
}
let live: Live | undefined;

/** SwiftShader's Vulkan ICD file in a Chromium install, or undefined. SELFEMD_SWIFTSHADER_ICD overrides. */
export function findSwiftShaderIcd(
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const given = env.SELFEMD_SWIFTSHADER_ICD?.trim();
  if (given) return fs.existsSync(given) ? given : undefined;
  return SWIFTSHADER_DIRS.map((d) => path.join(d, SWIFTSHADER_ICD)).find((f) => fs.existsSync(f));
}

/** Loads a shared library process-wide (RTLD_GLOBAL, never unloaded); false if it cannot be found. */
function loadLibrary(file: string): boolean {
  const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen as Record<string, number>;
  try {
    process.dlopen({ exports: {} }, file, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
    return true;
  } catch (e) {
    // Not a Node addon: loaded (and kept by RTLD_NODELETE), only Node's addon registration failed.
    return /did not self-register/.test(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Linux: a Vulkan loader for Dawn to open, and (fallback accepted) SwiftShader among its drivers.
 * Must run before Dawn creates its first instance: the loader reads these variables then.
 * Returns an error text when there is no loader at all.
 */
function prepareVulkan(allowFallback: boolean): { error?: string; swiftShader?: string } {
  if (process.platform !== 'linux') return {};
  // The Vulkan loader and SwiftShader look for a runtime folder; without one they warn on stderr.
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  const icd = allowFallback ? findSwiftShaderIcd() : undefined;
  if (!loadLibrary(VULKAN_LOADER)) {
    // Chromium ships its own loader beside SwiftShader; a system without libvulkan1 can use that one.
    const beside = icd && path.join(path.dirname(icd), VULKAN_LOADER);
    if (!beside || !fs.existsSync(beside) || !loadLibrary(beside))
      return {
        error: `no Vulkan loader (${VULKAN_LOADER}): install libvulkan1 and your GPU's Vulkan driver${
          allowFallback ? ", or chromium for SwiftShader's software adapter" : ''
        }`,
      };
  }
  const chosen = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES;
  if (icd && !chosen) {
    // Added, not replacing: a hardware driver stays visible and Dawn prefers it.
    const added = process.env.VK_ADD_DRIVER_FILES;
    if (!added?.split(':').includes(icd)) process.env.VK_ADD_DRIVER_FILES = added ? `${added}:${icd}` : icd;
    return { swiftShader: icd };
  }
  return {};
}

function installNavigatorGpu(gpu: DawnGpu, globals: object): void {
  Object.assign(globalThis, globals);
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else g.navigator = { gpu };
}

function summarise(adapter: DawnAdapter, powerPreference: GpuPowerPreference): GpuAdapterInfo {
  const i = adapter.info;
  return {
    vendor: i.vendor || 'unknown vendor',
    architecture: i.architecture || 'unknown architecture',
    device: i.device || '',
    description: i.description || '',
    fallback: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    powerPreference,
  };
}

async function requestAdapter(
  request: WebGpuRequest,
): Promise<{ gpu: DawnGpu; adapter: DawnAdapter | null; globals: object }> {
  // webgpu's types declare the browser's GPU interfaces; ours are the few members used here.
  const dawn = (await import('webgpu')) as unknown as { create(flags: string[]): DawnGpu; globals: object };
  const flags = request.adapterName ? [`adapter=${request.adapterName}`] : [];
  const gpu = dawn.create(flags);
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: request.powerPreference });
    return { gpu, adapter, globals: dawn.globals };
  } catch (e) {
    // Dawn's message lists the adapters it has when the name matches none.
    throw new Error(
      `no adapter matches --gpu '${request.adapterName}': ${String(e instanceof Error ? e.message : e).trim()}`,
    );
  }
}

/**
 * Sets up (or reuses) the webgpu backend and makes it current. Returns the adapter, or undefined
 * with the reason pushed to `notes` when no acceptable adapter exists.
 */
export async function setupWebGpu(
  request: WebGpuRequest,
  notes: string[],
): Promise<GpuAdapterInfo | undefined> {
  if (live && (!live.info.fallback || request.allowFallback) && !request.adapterName) {
    if (await tf.setBackend('webgpu')) return live.info;
    releaseWebGpu();
  }
  if (live) releaseWebGpu();
  const vulkan = prepareVulkan(request.allowFallback);
  if (vulkan.error) {
    notes.push(`webgpu: ${vulkan.error}`);
    return undefined;
  }
  // Imported before navigator.gpu exists, so that the package does not register its own factory.
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  let found: Awaited<ReturnType<typeof requestAdapter>>;
  try {
    found = await requestAdapter(request);
    if (!found.adapter && vulkan.swiftShader && !process.env.VK_ICD_FILENAMES) {
      // Vulkan loaders older than 1.3.234 ignore VK_ADD_DRIVER_FILES: name SwiftShader as the driver.
      process.env.VK_ICD_FILENAMES = vulkan.swiftShader;
      found = await requestAdapter(request);
    }
  } catch (e) {
    notes.push(`webgpu: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  const { gpu, adapter, globals } = found;
  if (!adapter) {
    notes.push(
      `webgpu: no GPU adapter (${process.platform === 'linux' ? 'Vulkan' : process.platform === 'darwin' ? 'Metal' : 'D3D12'} found no usable device)`,
    );
    return undefined;
  }
  const info = summarise(adapter, request.powerPreference);
  if (info.fallback && !request.allowFallback) {
    notes.push(
      `webgpu: only a fallback adapter (${adapterLine(info)}); auto takes hardware adapters only, --backend webgpu accepts it`,
    );
    return undefined;
  }
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  installNavigatorGpu(gpu, globals);
  if (tf.engine().registryFactory.webgpu) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    () =>
      new WebGPUBackend(
        device as unknown as ConstructorParameters<typeof WebGPUBackend>[0],
        adapter.info as never,
      ),
    0,
  );
  registerWebGpuKernels();
  live = { gpu, device, info };
  if (!(await tf.setBackend('webgpu'))) {
    releaseWebGpu();
    notes.push('webgpu: the TF.js backend did not initialise on this device');
    return undefined;
  }
  return info;
}

/** The adapter of the live webgpu device, if any. */
export function webGpuAdapter(): GpuAdapterInfo | undefined {
  return live?.info;
}

/**
 * Frees the backend's buffers, destroys the device and drops Dawn's instance, so that nothing
 * native keeps the process alive. Tensors still on webgpu become unusable.
 */
export function releaseWebGpu(): void {
  if (!live) return;
  if (tf.engine().registryFactory.webgpu) tf.removeBackend('webgpu');
  live.device.destroy();
  live = undefined;
}
