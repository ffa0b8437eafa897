/**
 * Benchmark (not a test): conv weight / input gradients on wasm (supplied kernels) vs the stock
 * kernels (cpu, and wasm's own Conv2DBackpropInput), batch-norm forward+backward (closed form vs
 * core), and one step of the tiny net.
 *   node --import tsx test/engine/backend/bench-conv-grads.ts [threads] [--no-cpu]
 * Prints min and median ms over repetitions; these machines are shared, so trust the min.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src-main/engine/backend/select';
import { stockWasmConv2dBackpropInput } from '../../../src-main/engine/backend/wasm-kernels';
import { batchNormTrain } from '../../../src-main/engine/nn/batch-norm';
import { createTinyNet } from './tiny-net';

const threads = Number(process.argv[2] ?? 1);
const withCpu = !process.argv.includes('--no-cpu');

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  s: number;
}
const CASES: ConvCase[] = [
  { name: '3x3 64->64, 8x32x32, s1 same', x: [8, 32, 32, 64], k: 3, co: 64, s: 1 },
  { name: '3x3 64->64, 8x32x32, s2 same', x: [8, 32, 32, 64], k: 3, co: 64, s: 2 },
  { name: '1x1 64->128, 8x32x32, s2 (downsample)', x: [8, 32, 32, 64], k: 1, co: 128, s: 2 },
  { name: '7x7 3->32, 8x96x96, s2 (stem)', x: [8, 96, 96, 3], k: 7, co: 32, s: 2 },
];

function stats(f: () => void, reps: number): { min: number; med: number } {
  f(); // warm-up: operator creation, heap growth
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0], med: ts[Math.floor(ts.length / 2)] };
}

function fmt(r: { min: number; med: number }, flops?: number): string {
  const g = flops ? `, ${(flops / r.min / 1e6).toFixed(1)} GFLOP/s` : '';
  return `min ${r.min.toFixed(1)} ms, median ${r.med.toFixed(1)} ms${g}`;
}

function convTensors(c: ConvCase) {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k, c.k, c.x[3], c.co], c.s, 1, 'same');
  const x = tf.randomNormal(c.x, 0, 1, 'float32', 1);
  const w = tf.randomNormal([c.k, c.k, c.x[3], c.co], 0, 0.1, 'float32', 2);
  const dy = tf.randomNormal(info.outShape, 0, 1, 'float32', 3);
  const flops = 2 * info.outShape.reduce((a, b) => a * b) * c.k * c.k * c.x[3];
  const attrs = { strides: [c.s, c.s], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  const filterGrad = () =>
    tf.tidy(() => {
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        ...attrs,
        filterShape: w.shape,
      } as unknown as tf.NamedAttrMap);
    });
  const inputGrad = () =>
    tf.tidy(() => {
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
        ...attrs,
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap);
    });
  const forward = () =>
    tf.tidy(() => void tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, 'same').dataSync());
  return { x, w, dy, flops, attrs, filterGrad, inputGrad, forward };
}

async function main(): Promise<void> {
  // The stock wasm pool gradients, captured before initBackend('wasm') replaces them.
  const stockMaxGrad = tf.getKernel(tf.MaxPoolGrad, 'wasm').kernelFunc;
  const stockAvgGrad = tf.getKernel(tf.AvgPoolGrad, 'wasm').kernelFunc;
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  if (withCpu) {
    await initBackend('cpu', { env: {} });
    for (const c of CASES.slice(0, 2)) {
      const t = convTensors(c);
      say(`cpu  ${c.name}: weight grad ${fmt(stats(t.filterGrad, 2), t.flops)}`);
      say(`cpu  ${c.name}: input grad  ${fmt(stats(t.inputGrad, 2), t.flops)}`);
      tf.dispose([t.x, t.w, t.dy]);
    }
  }
  const info = await initBackend('wasm', { threads, env: {} });
  say(`wasm threads ${info.threads} (${info.threadsChosenBy})`);
  const backend = tf.backend() as unknown as { disposeData(id: object): void };
  for (const c of CASES) {
    const t = convTensors(c);
    say(`wasm ${c.name}: forward     ${fmt(stats(t.forward, 10), t.flops)}`);
    say(`wasm ${c.name}: weight grad ${fmt(stats(t.filterGrad, 10), t.flops)}`);
    say(`wasm ${c.name}: input grad  ${fmt(stats(t.inputGrad, 10), t.flops)}`);
    const stock = stockWasmConv2dBackpropInput();
    if (stock && c.k > 1) {
      const run = () => {
        const out = stock({
          inputs: { dy: t.dy, filter: t.w },
          backend: tf.backend(),
          attrs: { ...t.attrs, inputShape: c.x } as unknown as tf.NamedAttrMap,
        }) as tf.TensorInfo;
        backend.disposeData(out.dataId);
      };
      say(`wasm ${c.name}: input grad, stock wasm kernel ${fmt(stats(run, 3), t.flops)}`);
    }
    tf.dispose([t.x, t.w, t.dy]);
  }

  // Pool gradients (the supplied kernels), next to the forward pools they differentiate.
  for (const [shape, k, s] of [
    [[8, 32, 32, 32], 3, 2],
    [[8, 16, 16, 64], 7, 1],
  ] as [[number, number, number, number], number, number][]) {
    const px = tf.randomNormal(shape, 0, 1, 'float32', 6) as tf.Tensor4D;
    const ym = tf.maxPool(px, k, s, 'same');
    const ya = tf.avgPool(px, k, s, 'same');
    const dym = tf.randomNormal(ym.shape, 0, 1, 'float32', 7);
    const dya = tf.randomNormal(ya.shape, 0, 1, 'float32', 8);
    const attrs = {
      filterSize: k,
      strides: s,
      pad: 'same',
      dimRoundingMode: undefined,
    } as unknown as tf.NamedAttrMap;
    const label = `${shape.join('x')} ${k}x${k} s${s}`;
    say(
      `wasm maxPool ${label}: forward ${fmt(stats(() => tf.tidy(() => void tf.maxPool(px, k, s, 'same').dataSync()), 10))}`,
    );
    say(
      `wasm maxPool ${label}: grad    ${fmt(stats(() => tf.tidy(() => void tf.engine().runKernel(tf.MaxPoolGrad, { dy: dym, input: px, output: ym }, attrs)), 10))}`,
    );
    say(
      `wasm avgPool ${label}: forward ${fmt(stats(() => tf.tidy(() => void tf.avgPool(px, k, s, 'same').dataSync()), 10))}`,
    );
    say(
      `wasm avgPool ${label}: grad    ${fmt(stats(() => tf.tidy(() => void tf.engine().runKernel(tf.AvgPoolGrad, { dy: dya, input: px }, attrs)), 10))}`,
    );
    const stockRun = (fn: tf.KernelFunc, inputs: tf.NamedTensorInfoMap) => () =>
      backend.disposeData((fn({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo).dataId);
    say(
      `wasm maxPool ${label}: grad, stock wasm kernel ${fmt(stats(stockRun(stockMaxGrad, { dy: dym, input: px, output: ym }), 10))}`,
    );
    say(
      `wasm avgPool ${label}: grad, stock wasm kernel ${fmt(stats(stockRun(stockAvgGrad, { dy: dya, input: px }), 10))}`,
    );
    tf.dispose([px, ym, ya, dym, dya]);
  }

  // Batch norm, training mode, forward + backward on [8,32,32,64].
  const x = tf.randomNormal([8, 32, 32, 64], 2, 3, 'float32', 4);
  const g = tf.ones([64]) as tf.Tensor1D;
  const b = tf.zeros([64]) as tf.Tensor1D;
  const wts = tf.randomNormal([8, 32, 32, 64], 0, 1, 'float32', 5);
  const bnStep = (closed: boolean) => () =>
    tf.tidy(() => {
      const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
        if (closed) return tf.sum(tf.mul(batchNormTrain(xx, gg as tf.Tensor1D, bb as tf.Tensor1D).y, wts));
        const m = tf.moments(xx, [0, 1, 2]);
        return tf.sum(
          tf.mul(tf.batchNorm(xx, m.mean, m.variance, bb as tf.Tensor1D, gg as tf.Tensor1D, 1e-5), wts),
        );
      };
      tf.grads(f)([x, g, b]).forEach((t) => t.dataSync());
    });
  say(`wasm batch norm fwd+bwd [8,32,32,64]: closed form ${fmt(stats(bnStep(true), 10))}`);
  say(`wasm batch norm fwd+bwd [8,32,32,64]: core        ${fmt(stats(bnStep(false), 10))}`);
  tf.dispose([x, g, b, wts]);

  const net = createTinyNet(7);
  const opt = tf.train.momentum(0.02, 0.9);
  say(`wasm tiny net train step (8x24x24x3): ${fmt(stats(() => void net.trainStep(opt), 20))}`);
  net.dispose();
  opt.dispose();
  say(`tensors left: ${tf.memory().numTensors}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
