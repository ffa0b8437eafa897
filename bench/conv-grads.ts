/**
 * The conv gradients of one ResNet-18 step, each timed next to the forward convolution of the same
 * layer (equal FLOPs: 2 · output pixels · kh·kw·Ci · Co for all three), for `npm run bench`.
 * Target on a hardware GPU (issue 11): weight and input gradient ≤ 2 × the forward.
 *
 * Every distinct conv geometry of the step is measured once and weighted by how often the step
 * runs it. On webgpu, besides the kernels training uses, TF.js's stock (naive) kernels and both
 * input-gradient paths (kernels/webgpu-conv-grads.ts; 'input' is the one training takes) are timed
 * for comparison.
 * Times: on webgpu the GPU's own timestamps summed over the programs a call dispatched (tf.time's
 * kernelMs) where the device has timestamp-query, else wall time up to the result's read-back; on
 * other backends wall time of the synchronous call. Minimum over repetitions (shared machines only
 * ever slow a run down).
 */
import * as tf from '@tensorflow/tfjs';
import { CONV_GRAD_TUNING, stockWebGpuConvGrads } from '../src-main/engine/backend/kernels/webgpu-conv-grads';
import { convBnPairs, describeResNet, RESNET_DEPTHS, type ConvSpec } from '../src-main/engine/models/resnet';

export interface ConvLayerShape {
  label: string;
  conv: ConvSpec;
  /** Input [N, H, W, Ci]. */
  x: [number, number, number, number];
  /** How many convs of the step have this geometry. */
  count: number;
}

/** The distinct convolutions of a ResNet-18 step at this geometry, with their multiplicities. */
export function resnet18ConvShapes(opts: { width: number; batch: number; size: number }): ConvLayerShape[] {
  const arch = describeResNet('resnet18', RESNET_DEPTHS.resnet18, opts.width);
  const out = (h: number, c: ConvSpec) => Math.floor((h + 2 * c.pad - c.kernel) / c.stride) + 1;
  const inputSize = new Map<ConvSpec, number>();
  let h = opts.size;
  inputSize.set(arch.stem.conv, h);
  h = out(h, arch.stem.conv);
  h = Math.floor((h + 2 - 3) / 2) + 1; // 3×3/2 max pool, pad 1
  for (const stage of arch.stages)
    for (const block of stage.blocks) {
      const blockIn = h;
      for (const { conv } of block.main) {
        inputSize.set(conv, h);
        h = out(h, conv);
      }
      if (block.downsample) inputSize.set(block.downsample.conv, blockIn);
    }
  const shapes = new Map<string, ConvLayerShape>();
  for (const { conv } of convBnPairs(arch)) {
    const size = inputSize.get(conv)!;
    const label = `${conv.kernel}x${conv.kernel}/${conv.stride} ${conv.inChannels}→${conv.outChannels} @${size}`;
    const row = shapes.get(label);
    if (row) row.count += 1;
    else shapes.set(label, { label, conv, x: [opts.batch, size, size, conv.inChannels], count: 1 });
  }
  return [...shapes.values()];
}

export interface ConvGradRow {
  label: string;
  count: number;
  /** Stem: its input gradient is never needed (the images are not trained). */
  needsInputGrad: boolean;
  gflop: number;
  forwardMs: number;
  /** Kernel name or variant → ms. */
  ms: Record<string, number>;
}

type Timed = () => tf.Tensor;

async function timeOnce(f: Timed, gpuTimestamps: boolean): Promise<number> {
  if (gpuTimestamps) {
    let out: tf.Tensor | undefined;
    const t = await tf.time(() => {
      out = f();
    });
    await out!.data();
    out!.dispose();
    return t.kernelMs as number;
  }
  const t0 = performance.now();
  const out = f();
  await out.data();
  const ms = performance.now() - t0;
  out.dispose();
  return ms;
}

async function minMs(f: Timed, reps: number, gpuTimestamps: boolean): Promise<number> {
  await timeOnce(f, gpuTimestamps); // warm-up: pipelines, buffers
  let best = Infinity;
  for (let i = 0; i < reps; i++) best = Math.min(best, await timeOnce(f, gpuTimestamps));
  return best;
}

/** Runs a kernel function directly (the stock kernels are no longer registered). */
function direct(fn: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: object): tf.Tensor {
  const info = fn({ inputs, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

export async function measureConvGrads(
  shapes: ConvLayerShape[],
  opts: { reps: number; log?: (m: string) => void },
): Promise<ConvGradRow[]> {
  const webgpu = tf.getBackend() === 'webgpu';
  const gpuTimestamps =
    webgpu && (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
  const stock = webgpu ? stockWebGpuConvGrads() : undefined;
  const rows: ConvGradRow[] = [];
  for (const s of shapes) {
    opts.log?.(`conv gradients: ${s.label} …`);
    const { kernel: k, stride, pad, inChannels: ci, outChannels: co } = s.conv;
    const x = tf.randomNormal(s.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, ci, co], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, stride, pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    y.dispose();
    const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const filterAttrs = { ...attrs, filterShape: w.shape };
    const inputAttrs = { ...attrs, inputShape: s.x };
    const run = (name: string, inputs: Record<string, tf.Tensor>, at: object) => () =>
      tf.engine().runKernel(name, inputs, at as tf.NamedAttrMap) as tf.Tensor;
    const cases: [string, Timed][] = [['weight', run(tf.Conv2DBackpropFilter, { x, dy }, filterAttrs)]];
    const needsInputGrad = s.conv.name !== 'conv1';
    if (needsInputGrad) cases.push(['input', run(tf.Conv2DBackpropInput, { dy, filter: w }, inputAttrs)]);
    if (stock) {
      cases.push(['weight, TF.js naive', () => direct(stock.filter, { x, dy }, filterAttrs)]);
      if (needsInputGrad) {
        for (const path of ['conv', 'mm'] as const)
          cases.push([
            `input, ${path} path`,
            () => {
              const before = CONV_GRAD_TUNING.inputGrad;
              CONV_GRAD_TUNING.inputGrad = path;
              try {
                return run(tf.Conv2DBackpropInput, { dy, filter: w }, inputAttrs)();
              } finally {
                CONV_GRAD_TUNING.inputGrad = before;
              }
            },
          ]);
        cases.push(['input, TF.js naive', () => direct(stock.input, { dy, filter: w }, inputAttrs)]);
      }
    }
    const forwardMs = await minMs(() => tf.conv2d(x, w, stride, pad), opts.reps, gpuTimestamps);
    const ms: Record<string, number> = {};
    for (const [name, f] of cases) ms[name] = await minMs(f, opts.reps, gpuTimestamps);
    rows.push({
      label: s.label,
      count: s.count,
      needsInputGrad,
      gflop: (2 * dy.size * k * k * ci) / 1e9,
      forwardMs,
      ms,
    });
    tf.dispose([x, w, dy]);
  }
  return rows;
}

/** One line per layer: forward ms and each gradient's time ÷ the forward; then the step-weighted totals. */
export function formatConvGrads(rows: ConvGradRow[]): string[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.ms)))];
  const head = `${'layer (kernel/stride in→out @input)'.padEnd(34)} ${'×'.padStart(2)} ${'GFLOP'.padStart(7)} ${'fwd ms'.padStart(9)} ${names.map((n) => `${n} ÷fwd`.padStart(26)).join('')}`;
  const out = [head];
  for (const r of rows)
    out.push(
      `${r.label.padEnd(34)} ${String(r.count).padStart(2)} ${r.gflop.toFixed(3).padStart(7)} ${r.forwardMs.toFixed(2).padStart(9)} ${names
        .map((n) => (n in r.ms ? (r.ms[n] / r.forwardMs).toFixed(2) : '—').padStart(26))
        .join('')}`,
    );
  // Step totals: each gradient's summed time over the layers that need it ÷ their forward time.
  const totals = names.map((n) => {
    const used = rows.filter((r) => n in r.ms);
    const grad = used.reduce((s, r) => s + r.count * r.ms[n], 0);
    const fwd = used.reduce((s, r) => s + r.count * r.forwardMs, 0);
    return (grad / fwd).toFixed(2).padStart(26);
  });
  out.push(
    `${'step total (weighted by count)'.padEnd(34)} ${''.padStart(2)} ${''.padStart(7)} ${''.padStart(9)} ${totals.join('')}`,
  );
  return out;
}

/** Step-weighted ratio of one gradient to the forward (for the targets). */
export function stepRatio(rows: ConvGradRow[], name: string): number {
  const used = rows.filter((r) => name in r.ms);
  return (
    used.reduce((s, r) => s + r.count * r.ms[name], 0) / used.reduce((s, r) => s + r.count * r.forwardMs, 0)
  );
}
