import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src-main/engine/backend/select';
import { countParameters } from '../../../src-main/engine/models/parameter-set';
import { createBackbone, listBackbones, registerBackbone } from '../../../src-main/engine/models/registry';
import { createBatchStatsCollector } from '../../../src-main/engine/models/running-stats';
import type { Backbone, FeatureName } from '../../../src-main/engine/models/types';

/**
 * torchvision.models.resnet18().state_dict() without fc.* and *.num_batches_tracked, in its
 * order, torch layouts (conv OIHW). Written out from torchvision's module structure.
 */
const RESNET18_STATE_DICT = `
  conv1.weight 64,3,7,7
  bn1.weight 64
  bn1.bias 64
  bn1.running_mean 64
  bn1.running_var 64
  layer1.0.conv1.weight 64,64,3,3
  layer1.0.bn1.weight 64
  layer1.0.bn1.bias 64
  layer1.0.bn1.running_mean 64
  layer1.0.bn1.running_var 64
  layer1.0.conv2.weight 64,64,3,3
  layer1.0.bn2.weight 64
  layer1.0.bn2.bias 64
  layer1.0.bn2.running_mean 64
  layer1.0.bn2.running_var 64
  layer1.1.conv1.weight 64,64,3,3
  layer1.1.bn1.weight 64
  layer1.1.bn1.bias 64
  layer1.1.bn1.running_mean 64
  layer1.1.bn1.running_var 64
  layer1.1.conv2.weight 64,64,3,3
  layer1.1.bn2.weight 64
  layer1.1.bn2.bias 64
  layer1.1.bn2.running_mean 64
  layer1.1.bn2.running_var 64
  layer2.0.conv1.weight 128,64,3,3
  layer2.0.bn1.weight 128
  layer2.0.bn1.bias 128
  layer2.0.bn1.running_mean 128
  layer2.0.bn1.running_var 128
  layer2.0.conv2.weight 128,128,3,3
  layer2.0.bn2.weight 128
  layer2.0.bn2.bias 128
  layer2.0.bn2.running_mean 128
  layer2.0.bn2.running_var 128
  layer2.0.downsample.0.weight 128,64,1,1
  layer2.0.downsample.1.weight 128
  layer2.0.downsample.1.bias 128
  layer2.0.downsample.1.running_mean 128
  layer2.0.downsample.1.running_var 128
  layer2.1.conv1.weight 128,128,3,3
  layer2.1.bn1.weight 128
  layer2.1.bn1.bias 128
  layer2.1.bn1.running_mean 128
  layer2.1.bn1.running_var 128
  layer2.1.conv2.weight 128,128,3,3
  layer2.1.bn2.weight 128
  layer2.1.bn2.bias 128
  layer2.1.bn2.running_mean 128
  layer2.1.bn2.running_var 128
  layer3.0.conv1.weight 256,128,3,3
  layer3.0.bn1.weight 256
  layer3.0.bn1.bias 256
  layer3.0.bn1.running_mean 256
  layer3.0.bn1.running_var 256
  layer3.0.conv2.weight 256,256,3,3
  layer3.0.bn2.weight 256
  layer3.0.bn2.bias 256
  layer3.0.bn2.running_mean 256
  layer3.0.bn2.running_var 256
  layer3.0.downsample.0.weight 256,128,1,1
  layer3.0.downsample.1.weight 256
  layer3.0.downsample.1.bias 256
  layer3.0.downsample.1.running_mean 256
  layer3.0.downsample.1.running_var 256
  layer3.1.conv1.weight 256,256,3,3
  layer3.1.bn1.weight 256
  layer3.1.bn1.bias 256
  layer3.1.bn1.running_mean 256
  layer3.1.bn1.running_var 256
  layer3.1.conv2.weight 256,256,3,3
  layer3.1.bn2.weight 256
  layer3.1.bn2.bias 256
  layer3.1.bn2.running_mean 256
  layer3.1.bn2.running_var 256
  layer4.0.conv1.weight 512,256,3,3
  layer4.0.bn1.weight 512
  layer4.0.bn1.bias 512
  layer4.0.bn1.running_mean 512
  layer4.0.bn1.running_var 512
  layer4.0.conv2.weight 512,512,3,3
  layer4.0.bn2.weight 512
  layer4.0.bn2.bias 512
  layer4.0.bn2.running_mean 512
  layer4.0.bn2.running_var 512
  layer4.0.downsample.0.weight 512,256,1,1
  layer4.0.downsample.1.weight 512
  layer4.0.downsample.1.bias 512
  layer4.0.downsample.1.running_mean 512
  layer4.0.downsample.1.running_var 512
  layer4.1.conv1.weight 512,512,3,3
  layer4.1.bn1.weight 512
  layer4.1.bn1.bias 512
  layer4.1.bn1.running_mean 512
  layer4.1.bn1.running_var 512
  layer4.1.conv2.weight 512,512,3,3
  layer4.1.bn2.weight 512
  layer4.1.bn2.bias 512
  layer4.1.bn2.running_mean 512
  layer4.1.bn2.running_var 512
`
  .trim()
  .split('\n')
  .map((line) => {
    const [name, shape] = line.trim().split(' ');
    return [name, shape.split(',').map(Number)] as const;
  });

/** Our TF layout → torch layout, written independently of the exporter. */
function asTorchShape(shape: number[]): number[] {
  return shape.length === 4 ? [shape[3], shape[2], shape[0], shape[1]] : shape;
}

function withBackbone<T>(
  name: string,
  opts: { baseWidth?: number; seed?: number },
  fn: (b: Backbone) => T,
): T {
  const b = createBackbone(name, opts);
  try {
    return fn(b);
  } finally {
    b.dispose();
  }
}

/** A scalar computed without leaking tensors. */
function scalar(fn: () => tf.Tensor): number {
  const t = tf.tidy(fn);
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('registry', () => {
  it('lists the registered ResNets in natural order and filters by wildcard', () => {
    expect(listBackbones()).toEqual(
      expect.arrayContaining(['resnet18', 'resnet34', 'resnet50', 'resnet101']),
    );
    expect(listBackbones('resnet*')).toEqual(['resnet18', 'resnet34', 'resnet50', 'resnet101']);
    expect(listBackbones('resnet1*')).toEqual(['resnet18', 'resnet101']);
    expect(listBackbones('resnet?0')).toEqual(['resnet50']);
    expect(listBackbones('vit*')).toEqual([]);
  });

  it('rejects unknown names, duplicates and bad widths with errors that say what is wrong', () => {
    expect(() => createBackbone('resnet19')).toThrow(
      /Unknown backbone "resnet19".*resnet18, resnet34, resnet50, resnet101/,
    );
    expect(() => registerBackbone('resnet18', () => createBackbone('resnet34'))).toThrow(
      /already registered/,
    );
    expect(() => createBackbone('resnet18', { baseWidth: 0 })).toThrow(
      /baseWidth must be a positive integer/,
    );
    expect(() => createBackbone('resnet18', { seed: -1 })).toThrow(/seed/);
  });

  it('passes defaults (baseWidth 64, seed 0) to a registered builder', () => {
    const seen: unknown[] = [];
    registerBackbone('test-resnet18-tiny', (o) => {
      seen.push(o);
      return createBackbone('resnet18', { baseWidth: 2, seed: o.seed });
    });
    createBackbone('test-resnet18-tiny').dispose();
    expect(seen).toEqual([{ baseWidth: 64, seed: 0 }]);
    expect(listBackbones('test-*')).toEqual(['test-resnet18-tiny']);
  });
});

describe('ResNet parameters (torchvision parity at baseWidth 64)', () => {
  it.each([
    ['resnet18', 11_176_512, 20],
    ['resnet34', 21_284_672, 36],
    ['resnet50', 23_508_032, 53],
    ['resnet101', 42_500_160, 104],
  ])('%s trunk has %i parameters and %i BN layers', (name, expected, bnLayers) => {
    withBackbone(name, { seed: 0 }, (b) => {
      expect(countParameters(b)).toBe(expected);
      expect(b.buffers.size).toBe(2 * bnLayers);
      // convs have no bias: every param is a conv weight or a BN weight/bias
      for (const key of b.params.keys())
        expect(key).toMatch(/(conv\d|downsample\.0)\.weight$|(bn\d|downsample\.1)\.(weight|bias)$/);
    });
  });

  it('resnet18 names and shapes equal torchvision state_dict minus fc and num_batches_tracked', () => {
    withBackbone('resnet18', {}, (b) => {
      const ours = new Map<string, number[]>();
      for (const [k, v] of [...b.params, ...b.buffers]) ours.set(k, asTorchShape(v.shape));
      expect(ours.size).toBe(RESNET18_STATE_DICT.length);
      for (const [name, shape] of RESNET18_STATE_DICT) expect(ours.get(name), name).toEqual(shape);
      // params are the trainable subset, in torchvision's order
      const expectedParams = RESNET18_STATE_DICT.filter(([n]) => !/running_(mean|var)$/.test(n)).map(
        ([n]) => n,
      );
      expect([...b.params.keys()]).toEqual(expectedParams);
      const total = RESNET18_STATE_DICT.filter(([n]) => !/running/.test(n)).reduce(
        (s, [, sh]) => s + sh.reduce((a, c) => a * c, 1),
        0,
      );
      expect(total).toBe(11_176_512);
    });
  });

  it('resnet50 uses v1.5 bottlenecks: stride on the 3×3 conv, downsample in layer1.0', () => {
    withBackbone('resnet50', { baseWidth: 16 }, (b) => {
      const shape = (n: string) => b.params.get(n)?.shape;
      expect(shape('layer1.0.conv1.weight')).toEqual([1, 1, 16, 16]);
      expect(shape('layer1.0.conv3.weight')).toEqual([1, 1, 16, 64]);
      expect(shape('layer1.0.downsample.0.weight')).toEqual([1, 1, 16, 64]);
      expect(shape('layer2.0.conv1.weight')).toEqual([1, 1, 64, 32]);
      expect(shape('layer2.0.conv2.weight')).toEqual([3, 3, 32, 32]);
      expect(b.params.has('layer1.1.downsample.0.weight')).toBe(false);
      expect(b.params.has('layer3.5.conv3.weight')).toBe(true);
      expect(b.params.has('layer3.6.conv3.weight')).toBe(false);
    });
  });
});

describe('ResNet forward', () => {
  const sizes: [string, number, Record<FeatureName, number>][] = [
    ['resnet18', 64, { res2: 64, res3: 128, res4: 256, res5: 512 }],
    ['resnet18', 32, { res2: 32, res3: 64, res4: 128, res5: 256 }],
    ['resnet50', 8, { res2: 32, res3: 64, res4: 128, res5: 256 }],
  ];
  it.each(sizes)(
    '%s at baseWidth %i: feature shapes and strides for a 64×64 input',
    (name, width, channels) => {
      withBackbone(name, { baseWidth: width, seed: 3 }, (b) => {
        const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const out = b.forward(x, { training: false });
        expect(tf.memory().numTensors).toBe(before + 4);
        const strides = { res2: 4, res3: 8, res4: 16, res5: 32 };
        for (const f of ['res2', 'res3', 'res4', 'res5'] as FeatureName[]) {
          expect(b.featureInfo[f]).toEqual({ stride: strides[f], channels: channels[f] });
          expect(out[f].shape).toEqual([2, 64 / strides[f], 64 / strides[f], channels[f]]);
          // post-ReLU and not dead
          expect(scalar(() => out[f].min())).toBe(0);
          expect(scalar(() => out[f].max())).toBeGreaterThan(0);
        }
        Object.values(out).forEach((t) => t.dispose());
        x.dispose();
      });
    },
  );

  it('rejects non-RGB or non-4D input naming the backbone', () => {
    withBackbone('resnet18', { baseWidth: 4 }, (b) => {
      const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
      expect(() => b.forward(x, { training: false })).toThrow(
        /resnet18\.forward: expected an NHWC batch \[N, H, W, 3\], got \[1, 8, 8, 1\]/,
      );
      x.dispose();
    });
  });

  it('training mode reports every BN in module order with batch moments of its input', () => {
    withBackbone('resnet18', { baseWidth: 4, seed: 11 }, (b) => {
      const n = 2;
      const xs = tf.randomUniform([n, 16, 16, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
      const collector = createBatchStatsCollector();
      const before = tf.memory().numTensors;
      const out = b.forward(xs, { training: true, onBatchStats: collector.sink });
      const names = collector.records.map((r) => r.bnName);
      expect(names).toEqual(
        [...b.buffers.keys()]
          .filter((k) => k.endsWith('.running_mean'))
          .map((k) => k.replace(/\.running_mean$/, '')),
      );
      expect(names.slice(0, 4)).toEqual(['bn1', 'layer1.0.bn1', 'layer1.0.bn2', 'layer1.1.bn1']);
      const count = (name: string) => collector.records.find((r) => r.bnName === name)?.count;
      expect(count('bn1')).toBe(n * 8 * 8);
      expect(count('layer1.0.bn1')).toBe(n * 4 * 4);
      expect(count('layer2.0.downsample.1')).toBe(n * 2 * 2);
      expect(count('layer4.1.bn2')).toBe(n * 1 * 1);

      // conv1 (7×7, stride 2, symmetric zero pad 3) computed by hand: its per-channel batch mean
      // must be what bn1 reported. 'same' padding (0 top / 1 bottom at stride 2) would differ.
      const x = xs.arraySync();
      const w = (b.params.get('conv1.weight') as tf.Variable).arraySync() as number[][][][];
      const c = 4;
      const sums = new Float64Array(c);
      const sq = new Float64Array(c);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < 8; oy++)
          for (let ox = 0; ox < 8; ox++)
            for (let o = 0; o < c; o++) {
              let acc = 0;
              for (let ky = 0; ky < 7; ky++)
                for (let kx = 0; kx < 7; kx++) {
                  const iy = oy * 2 - 3 + ky;
                  const ix = ox * 2 - 3 + kx;
                  if (iy < 0 || iy >= 16 || ix < 0 || ix >= 16) continue;
                  for (let i = 0; i < 3; i++) acc += x[img][iy][ix][i] * w[ky][kx][i][o];
                }
              sums[o] += acc;
              sq[o] += acc * acc;
            }
      const m = n * 64;
      const rec = collector.records[0];
      const mean = rec.mean.dataSync();
      const variance = rec.variance.dataSync();
      for (let o = 0; o < c; o++) {
        const mu = sums[o] / m;
        expect(mean[o]).toBeCloseTo(mu, 4);
        expect(variance[o]).toBeCloseTo(sq[o] / m - mu * mu, 4); // biased, as BN normalises with
      }
      // training and inference differ (batch vs running stats)
      const inf = b.forward(xs, { training: false });
      expect(scalar(() => tf.max(tf.abs(tf.sub(inf.res5, out.res5))))).toBeGreaterThan(1e-3);

      Object.values(out).forEach((t) => t.dispose());
      Object.values(inf).forEach((t) => t.dispose());
      expect(tf.memory().numTensors).toBe(before + 2 * names.length); // only the kept moments remain
      collector.clear();
      expect(tf.memory().numTensors).toBe(before);
      xs.dispose();
    });
  });
});

describe('ResNet initialisation', () => {
  it('is reproducible by seed and differs across seeds', () => {
    const a = createBackbone('resnet18', { baseWidth: 8, seed: 7 });
    const b = createBackbone('resnet18', { baseWidth: 8, seed: 7 });
    const c = createBackbone('resnet18', { baseWidth: 8, seed: 8 });
    try {
      for (const [name, v] of a.params) {
        const va = v.dataSync();
        expect(Array.from(b.params.get(name)?.dataSync() ?? []), name).toEqual(Array.from(va));
        if (name.endsWith('conv1.weight') || name.endsWith('conv2.weight')) {
          const vc = c.params.get(name)?.dataSync() ?? new Float32Array();
          let same = 0;
          for (let i = 0; i < va.length; i++) if (va[i] === vc[i]) same++;
          expect(same, name).toBe(0);
        }
      }
      // per-name streams: distinct convs of the same shape are not copies of each other
      const l1 = a.params.get('layer1.0.conv2.weight')?.dataSync() as Float32Array;
      const l2 = a.params.get('layer1.1.conv2.weight')?.dataSync() as Float32Array;
      expect(l1[0]).not.toBe(l2[0]);
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  it('kaiming normal (fan_out, relu) for convs; BN γ=1, β=0, mean 0, var 1', () => {
    withBackbone('resnet18', { seed: 1 }, (b) => {
      const stats = (name: string) => {
        const d = b.params.get(name)?.dataSync() as Float32Array;
        let s = 0;
        let s2 = 0;
        for (const v of d) {
          s += v;
          s2 += v * v;
        }
        const mean = s / d.length;
        return { mean, std: Math.sqrt(s2 / d.length - mean * mean) };
      };
      // conv1: fan_out = 64·7·7; 9,408 samples → relative std error ≈ 0.7 %
      const c1 = stats('conv1.weight');
      expect(Math.abs(c1.std / Math.sqrt(2 / (64 * 49)) - 1)).toBeLessThan(0.03);
      expect(Math.abs(c1.mean)).toBeLessThan(0.003);
      // layer4.1.conv2: fan_out = 512·3·3; 2.36M samples
      const c4 = stats('layer4.1.conv2.weight');
      expect(Math.abs(c4.std / Math.sqrt(2 / (512 * 9)) - 1)).toBeLessThan(0.005);
      // downsample 1×1: fan_out = 128
      const ds = stats('layer2.0.downsample.0.weight');
      expect(Math.abs(ds.std / Math.sqrt(2 / 128) - 1)).toBeLessThan(0.03);
      const all = (name: string, v: number) =>
        expect(
          Array.from(b.params.get(name)?.dataSync() ?? b.buffers.get(name)?.dataSync() ?? []).every(
            (x) => x === v,
          ),
          name,
        ).toBe(true);
      all('layer3.1.bn2.weight', 1);
      all('layer3.1.bn2.bias', 0);
      all('layer3.1.bn2.running_mean', 0);
      all('layer3.1.bn2.running_var', 1);
    });
  });
});
