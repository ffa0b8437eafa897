/**
 * Composition helper for kernels we supply to a backend: runs the backend's own kernels (Conv2D,
 * Transpose, BatchMatMul, …) at backend level, the way TF.js backends compose kernels, and frees
 * every intermediate it made. Working below the engine keeps intermediates off the gradient tape
 * and out of `tf.memory()`.
 */
import * as tf from '@tensorflow/tfjs';

export type Info = tf.TensorInfo;

interface DisposingBackend {
  disposeData(dataId: object): boolean | void;
}

export class KernelScope<B extends DisposingBackend = DisposingBackend> {
  private readonly temps: Info[] = [];

  constructor(
    readonly backend: B,
    readonly backendName: string,
  ) {}

  /** Runs the backend's registered kernel `name`; the output is freed by `dispose()` unless `keep`. */
  run(name: string, inputs: Record<string, Info> | Info[], attrs: Record<string, unknown> = {}): Info {
    const config = tf.getKernel(name, this.backendName);
    if (!config) throw new Error(`${this.backendName} backend has no '${name}' kernel`);
    const out = config.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.backend as unknown as tf.KernelBackend,
      attrs: attrs as tf.NamedAttrMap,
    });
    if (Array.isArray(out)) throw new Error(`${this.backendName} kernel '${name}' returned several outputs`);
    this.temps.push(out);
    return out;
  }

  /** Frees `info` with the scope (for outputs of kernels called directly rather than through run). */
  track(info: Info): Info {
    this.temps.push(info);
    return info;
  }

  /** Marks `info` as the kernel's result: `dispose()` leaves it alone. */
  keep(info: Info): Info {
    const i = this.temps.lastIndexOf(info);
    if (i >= 0) this.temps.splice(i, 1);
    return info;
  }

  /** Frees one intermediate now (long loops over chunks), instead of at the end of the scope. */
  free(info: Info): void {
    const i = this.temps.lastIndexOf(info);
    if (i >= 0) this.temps.splice(i, 1);
    this.backend.disposeData(info.dataId);
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/** Runs `body` with `scope` and frees its intermediates whether it returns or throws. */
export function inScope<S extends KernelScope>(scope: S, body: (s: S) => Info): Info {
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
