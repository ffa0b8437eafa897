/**
 * Two data-movement shaders for the webgpu convolution gradients (webgpu-conv-grads.ts). Neither
 * does arithmetic: the FLOPs go to TF.js's tiled matMul/conv programs. Both write a window of a
 * larger virtual tensor (selected by an offset uniform), so a gradient can be built in chunks that
 * stay under the device's storage-binding limit. Geometry travels in uniforms, so one compiled
 * pipeline serves every layer.
 */
// Types only: the package is loaded where the webgpu backend is set up (webgpu.ts), not here.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

const WORKGROUP: [number, number, number] = [64, 1, 1];

/**
 * One thread per output element over a flat index (TF.js's flat layout). The backend reshapes a
 * dispatch wider than the device's per-dimension limit into two dimensions before running it.
 */
abstract class FlatProgram implements WebGPUProgram {
  abstract readonly variableNames: string[];
  abstract readonly uniforms: string;
  abstract readonly shaderKey: string;
  readonly workgroupSize = WORKGROUP;
  readonly size = true;
  readonly dispatchLayout: WebGPUProgram['dispatchLayout'];
  readonly dispatch: [number, number, number];

  constructor(readonly outputShape: number[]) {
    const size = outputShape.reduce((p, d) => p * d, 1);
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(size / WORKGROUP[0]), 1, 1];
  }

  abstract getUserCode(): string;
}

/**
 * Rows [row0, row0 + rows) of the im2col matrix of an NHWC input x for a kh × kw window with
 * strides and padding: row r = output pixel (n, oy, ox) in NHWC order, column = (a·kw + b)·Ci + i,
 * value x[n, oy·sh − pt + a, ox·sw − pl + b, i] (0 outside x). Output [rows, kh·kw·Ci].
 * Uniforms: row0, outH, outW, kw, strides, pads.
 */
export class Im2ColRowsProgram extends FlatProgram {
  readonly variableNames = ['x'];
  readonly uniforms = 'row0 : i32, outH : i32, outW : i32, kw : i32, strides : vec2<i32>, pads : vec2<i32>,';
  readonly shaderKey = 'selfemd_im2col_rows';

  constructor(rows: number, cols: number) {
    super([rows, cols]);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let cols = uniforms.outShape[1];
          let local = index / cols;
          let col = index - local * cols;
          let row = uniforms.row0 + local;
          let pixels = uniforms.outH * uniforms.outW;
          let n = row / pixels;
          let p = row - n * pixels;
          let oy = p / uniforms.outW;
          let ox = p - oy * uniforms.outW;
          let ci = uniforms.xShape[3];
          let tap = col / ci;
          let ch = col - tap * ci;
          let a = tap / uniforms.kw;
          let b = tap - a * uniforms.kw;
          let y = oy * uniforms.strides[0] - uniforms.pads[0] + a;
          let x = ox * uniforms.strides[1] - uniforms.pads[1] + b;
          var value = 0.0;
          if (y >= 0 && y < uniforms.xShape[1] && x >= 0 && x < uniforms.xShape[2]) {
            value = getX(n, y, x, ch);
          }
          setOutputAtIndex(index, value);
        }
      }
    `;
  }
}

/**
 * Images [n0, n0 + n) of dy, spread onto the stride grid and padded: output [n, H', W', C] with
 * out[m, y, x, c] = dy[n0 + m, (y − top)/sh, (x − left)/sw, c] where y − top, x − left are
 * non-negative multiples of the strides inside dy, else 0. A stride-1 valid convolution of this
 * with the flipped, in/out-swapped filter is the forward convolution's input gradient.
 * Uniforms: n0, strides, pads (top, left).
 */
export class SpreadPadProgram extends FlatProgram {
  readonly variableNames = ['dy'];
  readonly uniforms = 'n0 : i32, strides : vec2<i32>, pads : vec2<i32>,';
  readonly shaderKey = 'selfemd_spread_pad';

  constructor(outputShape: [number, number, number, number]) {
    super(outputShape);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let c = getCoordsFromIndex(index);
          let y = c[1] - uniforms.pads[0];
          let x = c[2] - uniforms.pads[1];
          var value = 0.0;
          if (y >= 0 && x >= 0) {
            let iy = y / uniforms.strides[0];
            let ix = x / uniforms.strides[1];
            if (iy * uniforms.strides[0] == y && ix * uniforms.strides[1] == x &&
                iy < uniforms.dyShape[1] && ix < uniforms.dyShape[2]) {
              value = getDy(uniforms.n0 + c[0], iy, ix, c[3]);
            }
          }
          setOutputAtIndex(index, value);
        }
      }
    `;
  }
}
