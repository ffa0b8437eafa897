/**
 * Per-kernel timing for profiling (bench/profile-step.ts): wraps every kernel registered for a
 * backend so each call adds its wall time to a per-kernel-name total. Kernels called from inside
 * other kernels (supplied gradients compose backend kernels) are counted in both; `exclusive`
 * subtracts nested time so the totals add up. Time outside kernels is engine/JS overhead.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelStat {
  name: string;
  calls: number;
  /** Exclusive wall milliseconds (nested kernel calls subtracted). */
  ms: number;
  /** Exclusive CPU milliseconds of the process (meaningful when no other thread of it is busy). */
  cpuMs: number;
}

export interface KernelTimer {
  reset(): void;
  stats(): KernelStat[];
  totalMs(): number;
  totalCpuMs(): number;
  uninstall(): void;
}

/** `detail`: kernel names whose rows are split by input shapes (and strides/dilations); `*` splits all. */
export function installKernelTimer(backendName: string, detail: string[] = []): KernelTimer {
  const table = new Map<string, { calls: number; ms: number; cpuMs: number }>();
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const originals: [tf.KernelConfig, tf.KernelFunc][] = [];
  // Stack of child-time accumulators, to compute exclusive time for nested kernel calls.
  const childMs: number[] = [];
  const childCpu: number[] = [];
  // Names of the kernels currently running: a nested call is reported as `outer>inner`.
  const running: string[] = [];
  for (const config of tf.getKernelsForBackend(backendName)) {
    const original = config.kernelFunc;
    originals.push([config, original]);
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      let name = running.length ? `${running[0]}>${config.kernelName}` : config.kernelName;
      if (detail.includes(config.kernelName) || detail.includes('*')) {
        const shapes = Object.values(args.inputs).map((t) => `[${(t as tf.TensorInfo).shape}]`);
        const at = args.attrs as
          { strides?: unknown; dilations?: unknown; transposeA?: boolean; transposeB?: boolean } | undefined;
        const extra = at?.strides !== undefined ? ` s${String(at.strides)} d${String(at.dilations)}` : '';
        name += ` ${shapes.join('')}${extra}${at?.transposeA ? ' tA' : ''}${at?.transposeB ? ' tB' : ''}`;
      }
      running.push(config.kernelName);
      childMs.push(0);
      childCpu.push(0);
      const c0 = cpuNow();
      const t0 = performance.now();
      try {
        return original(args);
      } finally {
        running.pop();
        const dt = performance.now() - t0;
        const dc = cpuNow() - c0;
        const nested = childMs.pop()!;
        const nestedCpu = childCpu.pop()!;
        if (childMs.length) {
          childMs[childMs.length - 1] += dt;
          childCpu[childCpu.length - 1] += dc;
        }
        const row = table.get(name) ?? { calls: 0, ms: 0, cpuMs: 0 };
        row.calls += 1;
        row.ms += dt - nested;
        row.cpuMs += dc - nestedCpu;
        table.set(name, row);
      }
    };
  }
  return {
    reset: () => table.clear(),
    stats: () => [...table].map(([name, r]) => ({ name, ...r })).sort((a, b) => b.cpuMs - a.cpuMs),
    totalMs: () => [...table.values()].reduce((s, r) => s + r.ms, 0),
    totalCpuMs: () => [...table.values()].reduce((s, r) => s + r.cpuMs, 0),
    uninstall: () => {
      for (const [config, f] of originals) (config as { kernelFunc: tf.KernelFunc }).kernelFunc = f;
    },
  };
}
