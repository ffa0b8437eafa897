/**
 * What the EMD matched (the paper's Fig. 5): two random crops of one image, the transport plan
 * between their dense maps, and the cost matrix. Crops are geometric only (no colour distortion)
 * so the user sees the image itself; maps come from the online predictor (crop 1) and the target
 * projector (crop 2) in inference mode, as in the loss. For a BYOL run, which has no dense heads,
 * the backbone's res5 maps and their pooled vectors are compared instead.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { PretrainConfig } from '../../../shared/config/pretrain';
import type { TransportResult } from '../../../shared/dto/tasks';
import { applyViewParams } from '../data/augment';
import { sampleCropParams, type ViewParams } from '../data/augment-params';
import type { RawImage } from '../data/raw-image';
import { createRng } from '../data/rng';
import { transportPlan } from '../ssl/emd-loss';
import { disposeEncoder, encode } from '../ssl/networks';
import { spatialPyramid } from '../ssl/spatial-pyramid';
import { restoreEncoders } from '../train/restore-encoders';

/** As the studio's TransportResult, with the crops as PNG bytes rather than data URLs. */
export type TransportInspection = Omit<TransportResult, 'crops'> & { crops: [Buffer, Buffer] };

/** Crops cover 20–100% of the image: big enough to share objects, small enough to differ. */
const CROP_SCALE: [number, number] = [0.2, 1];

function geometricOnly(image: RawImage, seed: number): ViewParams {
  const crop = sampleCropParams(createRng(seed), image.width, image.height, CROP_SCALE);
  return { crop, flip: false, jitter: null, grayscale: false, blurSigma: null, solarize: false };
}

async function toPng(pixels01: tf.Tensor3D): Promise<Buffer> {
  const [h, w] = pixels01.shape;
  const data = await tf.tidy(() => tf.cast(tf.clipByValue(tf.mul(pixels01, 255), 0, 255), 'int32')).data();
  return sharp(Buffer.from(Uint8Array.from(data)), { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

export async function inspectTransport(args: {
  config: PretrainConfig;
  runDir: string;
  image: RawImage;
  /** A second image for crop 2; both crops come from `image` when omitted. */
  image2?: RawImage;
  seed: number;
  step?: number;
  grid?: number;
}): Promise<TransportInspection> {
  const { config, image } = args;
  const image2 = args.image2 ?? image;
  const size = config.data.imageSize;
  const params = [geometricOnly(image, args.seed * 2 + 1), geometricOnly(image2, args.seed * 2 + 2)];
  const restored = restoreEncoders(config, args.runDir, args.step);
  try {
    const shown = applyViewParams([image, image2], params, size, { normalize: false });
    const input = applyViewParams([image, image2], params, size);
    const maps = tf.tidy(() => {
      const [x1, x2] = tf.split(input, 2, 0) as [tf.Tensor4D, tf.Tensor4D];
      const on = encode(restored.online, x1, undefined, false);
      const tg = encode(restored.target, x2, undefined, false);
      let xMap: tf.Tensor4D;
      let yMap: tf.Tensor4D;
      let vx: tf.Tensor2D;
      let vy: tf.Tensor2D;
      if (on.dense && tg.dense) {
        [xMap, yMap, vx, vy] = [on.dense, tg.dense, on.global, tg.global];
      } else {
        xMap = restored.online.backbone.forward(x1, { training: false }).res5;
        yMap = restored.target.backbone.forward(x2, { training: false }).res5;
        [vx, vy] = [tf.mean(xMap, [1, 2]) as tf.Tensor2D, tf.mean(yMap, [1, 2]) as tf.Tensor2D];
      }
      if (args.grid)
        [xMap, yMap] = [spatialPyramid(xMap, [args.grid])[0], spatialPyramid(yMap, [args.grid])[0]];
      return { xMap, yMap, vx, vy };
    });
    const e = config.emd;
    const marginals = hasDenseHeads(restored) ? e.marginals : 'mean-feature';
    const result = await transportPlan(maps.xMap, maps.yMap, maps.vx, maps.vy, {
      lambda: e.lambda,
      iterations: e.iterations,
      marginals,
      marginalEpsilon: e.marginalEpsilon,
    });
    const cost = await tf
      .tidy(() => {
        const n = (t: tf.Tensor4D) => {
          const f = tf.reshape(t, [-1, t.shape[3]]);
          return tf.div(f, tf.add(tf.norm(f, 'euclidean', 1, true), 1e-12));
        };
        return tf.sub(1, tf.matMul(n(maps.xMap), n(maps.yMap), false, true));
      })
      .data();
    const [c1, c2] = tf.tidy(() => tf.unstack(shown) as tf.Tensor3D[]);
    const crops: [Buffer, Buffer] = [await toPng(c1), await toPng(c2)];
    tf.dispose([shown, input, c1, c2, maps.xMap, maps.yMap, maps.vx, maps.vy]);
    const similarity = result.similarity[0];
    return {
      crops,
      boxes: [[...params[0].crop.box], [...params[1].crop.box]],
      grid1: result.xGrid ?? [result.n, 1],
      grid2: result.yGrid ?? [result.m, 1],
      plan: Array.from(result.plan),
      cost: Array.from(cost),
      similarity,
      loss: 2 - 2 * similarity,
      checkpointStep: restored.step,
    };
  } finally {
    disposeEncoder(restored.online);
    disposeEncoder(restored.target);
  }
}

function hasDenseHeads(r: { online: { denseProjector?: unknown } }): boolean {
  return Boolean(r.online.denseProjector);
}
