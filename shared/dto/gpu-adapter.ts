/**
 * The GPU adapter a webgpu backend runs on, and how it is named in `selfemd info`, logs, run records
 * and the studio's backend picker. No TF.js or Dawn import: the supervisor (jobs) formats a worker's
 * report with it, the renderer the hardware listing.
 */
export const GPU_POWER_PREFERENCES = ['high-performance', 'low-power'] as const;
export type GpuPowerPreference = (typeof GPU_POWER_PREFERENCES)[number];

/** The adapter a webgpu backend runs on and the device limits that bound tensor sizes. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  /** Adapter (device) name as the driver reports it, e.g. 'SwiftShader Device (Subzero)'. */
  device: string;
  description: string;
  /** A fallback adapter is a software emulation (SwiftShader): correct, never fast. */
  fallback: boolean;
  /** Largest single buffer, bytes (the largest tensor). */
  maxBufferSize: number;
  /** Largest buffer one shader can bind, bytes (the largest tensor one kernel reads or writes). */
  maxStorageBufferBindingSize: number;
  powerPreference: GpuPowerPreference;
}

/**
 * Which adapter a run asked webgpu for: `--gpu NAME` / SELFEMD_GPU (part of the adapter's name, null
 * for Dawn's own choice) and `--gpu-power` / SELFEMD_GPU_POWER. Recorded whenever webgpu was a
 * candidate (asked for, or tried by `auto`), so a run's record tells what was asked from what it got.
 */
export interface GpuRequest {
  name: string | null;
  power: GpuPowerPreference;
}

/** E.g. `--gpu "Radeon", high-performance` or `any adapter, low-power`. */
export function gpuRequestLine(r: GpuRequest): string {
  return `${r.name === null ? 'any adapter' : `--gpu "${r.name}"`}, ${r.power}`;
}

/** One line naming the adapter, e.g. `google swiftshader (device swiftshader-device-subzero-, driver "SwiftShader driver 5.0.0") (fallback adapter: …)`. */
export function adapterLine(a: GpuAdapterInfo): string {
  const name = [a.device && `device ${a.device}`, a.description && `driver "${a.description}"`]
    .filter(Boolean)
    .join(', ');
  return (
    `${a.vendor} ${a.architecture}${name ? ` (${name})` : ''}` +
    (a.fallback ? ' (fallback adapter: software emulation, for tests, not speed)' : '')
  );
}

/** The adapter and its limits as one line, for run records and logs. */
export function gpuLine(a: GpuAdapterInfo): string {
  return `${adapterLine(a)}; ${limitsLine(a)}`;
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
export function limitsLine(a: GpuAdapterInfo): string {
  return `max buffer ${mib(a.maxBufferSize)}, max storage binding ${mib(a.maxStorageBufferBindingSize)}`;
}

/**
 * Whether webgpu can run where the studio starts its runs, as the studio's backend picker shows it:
 * found by a probe in the process a webgpu run would get (src-main/jobs/service/hardware.ts).
 */
export type WebGpuStatus =
  | { state: 'probing' }
  | { state: 'available'; adapter: GpuAdapterInfo }
  | { state: 'unavailable'; reason: string };
