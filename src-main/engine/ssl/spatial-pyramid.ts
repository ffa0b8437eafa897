/**
 * Spatial Pyramid Crops (paper §3.3, Fig. 4): each level is an average pooling of the dense map to a
 * g×g grid with kernel (H − g + 1) × (W − g + 1), stride 1, 'valid' padding, so output cell (a, b)
 * is the mean of the crop of the map starting at (a, b): overlapping crops that together span it.
 * At 224 px the map is 7×7 and grids 7, 5, 3 give exactly 7×7 (kernel 1: the map itself),
 * 5×5 (kernel 3) and 3×3 (kernel 5), the paper's levels.
 * A grid larger than the map is clamped to the map's size on that axis (kernel 1), so a small view's
 * 4×4 map under grids [7, 5, 3] gives 4×4, 4×4, 3×3: one level per grid, always, so that level k
 * means grid k for the 'same' pairing.
 *
 * The gradient is supplied, not TF.js's: the stock AvgPoolGrad on wasm is a naive loop (~25–35 ms for
 * one [64, 7, 7, 256] level on a 2-core machine). The gradient of a stride-1 'valid' average pool is
 * itself one: input cell (i, j) receives dy(a, b)/(kh·kw) from every output cell whose crop covers it,
 * i.e. dx = avgPool(pad(dy, kh−1, kw−1), [kh, kw], stride 1, 'valid'), which runs on XNNPACK
 * (measured: pyramid 7/5/3 forward + backward ~70 → ~28 ms CPU on a loaded machine).
 */
import * as tf from '@tensorflow/tfjs';
import { spcLevelSide, type SpcPairing } from '../../../shared/config/pretrain';

/** Stride-1 'valid' average pooling with kernel [kh, kw] and the pooled-padding gradient above. */
export function cropAveragePool(map: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.avgPool(args[0] as tf.Tensor4D, [kh, kw], 1, 'valid'),
    gradFunc: (dy: tf.Tensor4D) =>
      tf.tidy(() =>
        tf.avgPool(
          tf.pad(dy, [
            [0, 0],
            [kh - 1, kh - 1],
            [kw - 1, kw - 1],
            [0, 0],
          ]),
          [kh, kw],
          1,
          'valid',
        ),
      ),
  }));
  return op(map) as tf.Tensor4D;
}

/**
 * map [B, H, W, C] → one [B, min(g,H), min(g,W), C] level per grid, in the order of `grids`.
 * `stockGradient` uses tf.avgPool's own gradient (for comparison in tests).
 */
export function spatialPyramid(map: tf.Tensor4D, grids: number[], stockGradient = false): tf.Tensor4D[] {
  if (map.rank !== 4) throw new Error(`spatial-pyramid.ts: expected a map [B,H,W,C], got [${map.shape}]`);
  if (grids.length === 0) throw new Error('spatial-pyramid.ts: emd.spcGrids must not be empty');
  const [, h, w] = map.shape;
  return grids.map((g) => {
    if (!Number.isInteger(g) || g < 1)
      throw new Error(`spatial-pyramid.ts: emd.spcGrids entries must be integers ≥ 1, got ${g}`);
    const kh = h - spcLevelSide(g, h) + 1;
    const kw = w - spcLevelSide(g, w) + 1;
    // Kernel 1: the level is the map itself, as a new handle on the same data (a reshape: no copy,
    // unlike tf.clone on wasm), so disposing the levels never disposes the caller's map.
    if (kh === 1 && kw === 1) return tf.reshape(map, map.shape);
    return stockGradient ? tf.avgPool(map, [kh, kw], 1, 'valid') : cropAveragePool(map, kh, kw);
  });
}

/**
 * Which levels are compared: `cross` pairs every level of A with every level of B (A-major order:
 * (a0,b0), (a0,b1), …); `same` pairs level k of A with level k of B.
 */
export function pyramidPairs(
  levelsA: tf.Tensor4D[],
  levelsB: tf.Tensor4D[],
  pairing: SpcPairing,
): [tf.Tensor4D, tf.Tensor4D][] {
  if (pairing === 'same') {
    if (levelsA.length !== levelsB.length)
      throw new Error(
        `spatial-pyramid.ts: 'same' pairing needs equal level counts, got ${levelsA.length} and ${levelsB.length}`,
      );
    return levelsA.map((a, k) => [a, levelsB[k]]);
  }
  if (pairing !== 'cross')
    throw new Error(`spatial-pyramid.ts: emd.spcPairing must be 'cross' or 'same', got ${String(pairing)}`);
  return levelsA.flatMap((a) => levelsB.map((b): [tf.Tensor4D, tf.Tensor4D] => [a, b]));
}
