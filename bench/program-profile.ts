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

const size = (shape: number[] | undefined) => (shape ?? []).reduce((p, d) => p * d, 1);

/**
 * Multiply-add FLOPs (2 per multiply-add) of the convolutions and matMuls among profiled kernels,
 * from their input and output shapes; element-wise work is left out.
 */
export function flopsOf(
  kernels: { name: string; inputShapes: (number[] | undefined)[]; outputShapes: (number[] | undefined)[] }[],
): number {
  let flops = 0;
  for (const k of kernels) {
    const [in0, in1] = k.inputShapes;
    const out = k.outputShapes[0];
    if (!in0 || !in1 || !out) continue;
    switch (k.name) {
      case 'Conv2D':
      case 'FusedConv2D': // y · (kh·kw·Ci) multiply-adds; filter [kh, kw, Ci, Co]
        flops += (2 * size(out) * size(in1)) / in1[3];
        break;
      case 'Conv2DBackpropFilter': // inputs x, dy; output the filter
        flops += (2 * size(in1) * size(out)) / out[3];
        break;
      case 'Conv2DBackpropInput': // inputs dy, filter
        flops += (2 * size(in0) * size(in1)) / in1[3];
        break;
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2D':
        flops += 2 * size(out) * in1[0] * in1[1];
        break;
      case 'BatchMatMul':
      case '_FusedMatMul': {
        // a's rows are the output's rows unless transposed; the other dimension is the inner one.
        const r = in0.length;
        const inner = in0[r - 2] === out[out.length - 2] ? in0[r - 1] : in0[r - 2];
        flops += 2 * size(out) * inner;
        break;
      }
    }
  }
  return flops;
}
