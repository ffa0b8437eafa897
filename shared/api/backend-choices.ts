/**
 * The studio's backend picker, from the hardware listing: each backend a run can ask for here, webgpu
 * named by its adapter (a fallback one marked), and a line saying which GPU webgpu would use — or why
 * it cannot run here, or that the probe is still looking.
 */
import type { BackendChoice } from '../config/pretrain';
import { adapterLine, type WebGpuStatus } from '../dto/gpu-adapter';
import type { HardwareInfo } from './types';

export interface BackendOption {
  value: BackendChoice;
  label: string;
}

/**
 * The picker's label for webgpu, e.g. `webgpu · google swiftshader — SwiftShader driver 5.0.0
 * (fallback: software emulation)`. Listed only once the probe found an adapter.
 */
function webGpuLabel(status: WebGpuStatus): string {
  if (status.state !== 'available') return 'webgpu';
  const a = status.adapter;
  const name = a.description || a.device;
  return `webgpu · ${a.vendor} ${a.architecture}${name ? ` — ${name}` : ''}${a.fallback ? ' (fallback: software emulation)' : ''}`;
}

export function backendOptions(hardware: Pick<HardwareInfo, 'backends' | 'webgpu'>): BackendOption[] {
  return hardware.backends.map((b) => ({
    value: b,
    label: b === 'webgpu' ? webGpuLabel(hardware.webgpu) : b === 'auto' ? 'auto (the fastest here)' : b,
  }));
}

/** What the picker says under itself about webgpu. */
export function webGpuHelp(status: WebGpuStatus): string {
  if (status.state === 'probing') return 'webgpu: looking for a GPU adapter…';
  if (status.state === 'unavailable') return `webgpu unavailable: ${status.reason}`;
  const a = status.adapter;
  return (
    `webgpu: ${adapterLine(a)}` +
    (a.fallback ? '; auto passes a fallback adapter over' : '; auto trains on it unless tfjs-node-gpu loads')
  );
}

/** A few words for the sidebar: the adapter, `looking…`, or `none`. */
export function webGpuShort(status: WebGpuStatus): string {
  if (status.state === 'probing') return 'looking…';
  if (status.state === 'unavailable') return 'none';
  const a = status.adapter;
  return `${a.vendor} ${a.architecture}${a.fallback ? ' (fallback)' : ''}`;
}
