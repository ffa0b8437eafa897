/**
 * Which kernels and which WebGPU shader programs one step runs, from `tf.profile`.
 *
 * On webgpu, TF.js times every program dispatched inside a profiled kernel and reports them in the
 * kernel's `extraInfo` as `ProgramClassName: ms, …` (the class name of the program, e.g.
 * `Conv2DDerFilterProgram` for the naive weight gradient, `MatMulPackedProgram` for the tiled
 * matMul). Program times are GPU timestamps where the device has `timestamp-query`, else 0.
 * Kernels composed from other kernels at backend level (ours) list all their programs under the
 * outer kernel's name.
 */
import * as tf from '@tensorflow/tfjs';

export interface CountAndTime {
  count: number;
  ms: number;
}

export interface ProgramProfile {
  /** Kernel name → calls and summed kernel time (ms) in the step. */
  kernels: Map<string, CountAndTime>;
  /** Shader program class name → dispatches and summed time (ms); empty on non-webgpu backends. */
  programs: Map<string, CountAndTime>;
  /** Program name → the kernel names that dispatched it. */
  programKernels: Map<string, Set<string>>;
  wallMs: number;
}

/** `Name: 0.12, Other: 3` → [['Name', 0.12], ['Other', 3]]. */
export function parseProgramInfo(extraInfo: string): [string, number][] {
  return extraInfo
    .split(', ')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const at = s.lastIndexOf(':');
      if (at < 0) return [s, 0];
      return [s.slice(0, at).trim(), Number(s.slice(at + 1)) || 0];
    });
}

function add(map: Map<string, CountAndTime>, key: string, ms: number): void {
  const row = map.get(key) ?? { count: 0, ms: 0 };
  row.count += 1;
  row.ms += ms;
  map.set(key, row);
}

/** Runs `step` once under tf.profile and tallies its kernels and programs. */
export async function profilePrograms(step: () => Promise<void>): Promise<ProgramProfile> {
  const t0 = performance.now();
  const info = await tf.profile(step);
  const wallMs = performance.now() - t0;
  const kernels = new Map<string, CountAndTime>();
  const programs = new Map<string, CountAndTime>();
  const programKernels = new Map<string, Set<string>>();
  for (const k of info.kernels) {
    add(kernels, k.name, Number(k.kernelTimeMs) || 0);
    const extra = (k as { extraInfo?: unknown }).extraInfo;
    if (typeof extra !== 'string') continue;
    for (const [program, ms] of parseProgramInfo(extra)) {
      add(programs, program, ms);
      const by = programKernels.get(program) ?? new Set<string>();
      by.add(k.name);
      programKernels.set(program, by);
    }
  }
  return { kernels, programs, programKernels, wallMs };
}

/** The table `profile-step --programs` prints: rows sorted by time, then count. */
export function formatCounts(title: string, rows: Map<string, CountAndTime>, top = 40): string[] {
  const sorted = [...rows].sort((a, b) => b[1].ms - a[1].ms || b[1].count - a[1].count);
  const out = [`${title.padEnd(40)} ${'count'.padStart(6)} ${'ms'.padStart(10)}`];
  for (const [name, r] of sorted.slice(0, top))
    out.push(`${name.padEnd(40)} ${String(r.count).padStart(6)} ${r.ms.toFixed(2).padStart(10)}`);
  if (sorted.length > top) out.push(`… ${sorted.length - top} more`);
  return out;
}
