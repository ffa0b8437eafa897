/**
 * The geometry of a convolution gradient (Conv2DBackpropFilter / Conv2DBackpropInput), shared by
 * the kernels we supply to wasm and webgpu: the forward convolution recomputed from the attributes
 * TF.js passes, and checked against the shapes the kernel received.
 */
import * as tf from '@tensorflow/tfjs';

/** The attributes TF.js passes to both gradient kernels. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Shape4 = [number, number, number, number];

export interface ConvGradGeometry {
  /** Forward input [n, h, w, ci], filter [kh, kw, ci, co], output [n, ho, wo, co]. */
  n: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  ho: number;
  wo: number;
  sh: number;
  sw: number;
  /** Padding before the first row / column. */
  pt: number;
  pl: number;
}

/**
 * `who` names the kernel in errors, e.g. 'Conv2DBackpropFilter (wasm)'. Throws for NCHW (the engine
 * is NHWC throughout) and when dy is not the forward output of x with this filter.
 */
export function convGradGeometry(
  who: string,
  xShape: Shape4,
  filterShape: Shape4,
  dyShape: number[],
  attrs: ConvGradAttrs,
): ConvGradGeometry {
  if (attrs.dataFormat === 'NCHW') throw new Error(`${who}: only NHWC is supported, as for Conv2D`);
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [n, h, w, ci] = xShape;
  const [kh, kw, fci, co] = filterShape;
  const { outHeight: ho, outWidth: wo } = info;
  if (fci !== ci || dyShape[0] !== n || dyShape[1] !== ho || dyShape[2] !== wo || dyShape[3] !== co)
    throw new Error(
      `${who}: dy [${dyShape}] is not the forward output [${n},${ho},${wo},${co}] of input [${xShape}] and filter [${filterShape}]`,
    );
  return {
    n,
    h,
    w,
    ci,
    kh,
    kw,
    co,
    ho,
    wo,
    sh: info.strideHeight,
    sw: info.strideWidth,
    pt: info.padInfo.top,
    pl: info.padInfo.left,
  };
}
