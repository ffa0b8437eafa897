/**
 * The built-in demo dataset: deterministic, cluttered, non-iconic multi-object scenes with COCO boxes
 * and instance masks (each object's visible pixels).
 *
 * Self-EMD's point is pretraining on scene images (COCO) rather than iconic object-centric ones
 * (ImageNet), so the demo must look like that: textured backgrounds with distractor strokes, 3–10
 * objects per image over a 10× range of scales, overlapping each other and cut by the borders.
 * Six classes differ in shape, colour family and texture; a minority take off-family colours so a
 * detector cannot classify by colour alone.
 *
 * Everything derives from one Rng stream per image (`fork('<stream>-<index>')`), so image i is the
 * same whatever `count` is, and the same seed gives byte-identical pixels on every machine (only
 * integer hashing and IEEE arithmetic, no platform maths beyond Math.sin/cos/exp/sqrt).
 */
import sharp from 'sharp';
import type { RawImage } from './raw-image';
import type { CocoRle } from './masks/mask-types';
import { encodeLabelMap } from './masks/rle';
import { compressRle } from './masks/rle-string';
import { Rng } from './rng';

export const DEMO_CATEGORIES = [
  { id: 1, name: 'circle', supercategory: 'shape' },
  { id: 2, name: 'square', supercategory: 'shape' },
  { id: 3, name: 'triangle', supercategory: 'shape' },
  { id: 4, name: 'star', supercategory: 'shape' },
  { id: 5, name: 'ring', supercategory: 'shape' },
  { id: 6, name: 'cross', supercategory: 'shape' },
] as const;

export type ShapeName = (typeof DEMO_CATEGORIES)[number]['name'];

export interface DemoCocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface DemoCocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] of the visible pixels, in continuous pixel coordinates (pixel (0,0) spans [0,1)²). */
  bbox: [number, number, number, number];
  /** Visible pixels (after occlusion by later objects and clipping to the image). */
  area: number;
  /** The visible pixels themselves (those counted in `area`), as a compressed COCO RLE. */
  segmentation: CocoRle;
  iscrowd: 0;
}

export interface DemoCoco {
  images: DemoCocoImage[];
  annotations: DemoCocoAnnotation[];
  categories: { id: number; name: string; supercategory: string }[];
}

export interface DemoScenes {
  images: RawImage[];
  coco: DemoCoco;
}

export interface DemoSceneOptions {
  count: number;
  /** Side of the square images in pixels. */
  size: number;
  seed: number;
  /** Names the Rng stream and the image ids (`demo/<stream>/000001`); `train` is the pretraining set. */
  stream?: string;
}

/** Objects whose visible area is below this fraction of their full area are left unannotated. */
export const MIN_VISIBLE_FRACTION = 0.2;
/** Object diameters as fractions of the image side (sampled log-uniformly). */
export const OBJECT_SCALE_RANGE: readonly [number, number] = [0.06, 0.6];
export const OBJECTS_PER_IMAGE: readonly [number, number] = [3, 10];

// ---------------------------------------------------------------------------------------------
// Colour and hashing helpers

type RGB = [number, number, number];

function hsv(h: number, s: number, v: number): RGB {
  h = ((h % 1) + 1) % 1;
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

/** Integer hash of (x, y, seed) to [0, 1): per-pixel noise without consuming the Rng. */
function hash01(x: number, y: number, seed: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

/**
 * Smooth value noise over the whole (square) image: a random lattice of (cells+1)² values,
 * smoothstep-interpolated. Interpolation weights depend on x or y only, so they are tabulated once.
 */
function noiseField(rng: Rng, cells: number, size: number, out: Float64Array): void {
  const w = cells + 1;
  const grid = new Float64Array(w * w);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  const cell = new Int32Array(size);
  const frac = new Float64Array(size);
  const inv = 1 / Math.max(1, size - 1);
  for (let i = 0; i < size; i++) {
    const t = i * inv * cells;
    const c = Math.min(Math.floor(t), cells - 1);
    const f = t - c;
    cell[i] = c;
    frac[i] = f * f * (3 - 2 * f);
  }
  for (let y = 0; y < size; y++) {
    const r0 = cell[y]! * w;
    const r1 = r0 + w;
    const fy = frac[y]!;
    for (let x = 0, p = y * size; x < size; x++, p++) {
      const c = cell[x]!;
      const fx = frac[x]!;
      const a = grid[r0 + c]!;
      const b = grid[r0 + c + 1]!;
      const cc = grid[r1 + c]!;
      const d = grid[r1 + c + 1]!;
      out[p] = a + (b - a) * fx + (cc - a) * fy + (a - b - cc + d) * fx * fy;
    }
  }
}

/** Buffers reused from scene to scene (the generator allocates nothing per pixel). */
export interface DemoSceneScratch {
  size: number;
  img: Float32Array;
  coarse: Float64Array;
  fine: Float64Array;
}

export function makeDemoSceneScratch(size: number): DemoSceneScratch {
  return {
    size,
    img: new Float32Array(size * size * 3),
    coarse: new Float64Array(size * size),
    fine: new Float64Array(size * size),
  };
}

// ---------------------------------------------------------------------------------------------
// Shapes as signed distances in a unit frame (radius 1); negative inside.

function polygon(vertices: number[]): (x: number, y: number) => number {
  const n = vertices.length / 2;
  return (px, py) => {
    let best = Infinity;
    let inside = false;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = vertices[2 * i]!;
      const yi = vertices[2 * i + 1]!;
      const xj = vertices[2 * j]!;
      const yj = vertices[2 * j + 1]!;
      const ex = xi - xj;
      const ey = yi - yj;
      const wx = px - xj;
      const wy = py - yj;
      const t = Math.min(Math.max((wx * ex + wy * ey) / (ex * ex + ey * ey), 0), 1);
      const dx = wx - ex * t;
      const dy = wy - ey * t;
      const dd = dx * dx + dy * dy;
      if (dd < best) best = dd;
      if (yi > py !== yj > py && px < (xj - xi) * ((py - yi) / (yj - yi)) + xi) inside = !inside;
    }
    const d = Math.sqrt(best);
    return inside ? -d : d;
  };
}

function regularPolygon(points: number, outer: number, inner: number, phase: number): number[] {
  const v: number[] = [];
  const stepped = inner > 0;
  const n = stepped ? points * 2 : points;
  for (let i = 0; i < n; i++) {
    const r = stepped && i % 2 === 1 ? inner : outer;
    const a = phase + (2 * Math.PI * i) / n;
    v.push(r * Math.cos(a), r * Math.sin(a));
  }
  return v;
}

const SDF: Record<ShapeName, (x: number, y: number) => number> = {
  circle: (x, y) => Math.sqrt(x * x + y * y) - 1,
  square: polygon([-0.8, -0.8, 0.8, -0.8, 0.8, 0.8, -0.8, 0.8]),
  triangle: polygon(regularPolygon(3, 1, 0, -Math.PI / 2)),
  star: polygon(regularPolygon(5, 1, 0.45, -Math.PI / 2)),
  ring: (x, y) => Math.abs(Math.sqrt(x * x + y * y) - 0.7) - 0.3,
  cross: polygon([
    -0.3, -1, 0.3, -1, 0.3, -0.3, 1, -0.3, 1, 0.3, 0.3, 0.3, 0.3, 1, -0.3, 1, -0.3, 0.3, -1, 0.3, -1, -0.3,
    -0.3, -0.3,
  ]),
};

/** Radius of the circle around each shape in its unit frame (square corners and cross tips poke out). */
const BOUND: Record<ShapeName, number> = {
  circle: 1,
  square: 0.8 * Math.SQRT2,
  triangle: 1,
  star: 1,
  ring: 1,
  cross: Math.hypot(1, 0.3),
};

/** Each class's colour family (hue centre) and texture. */
const CLASS_LOOK: Record<
  ShapeName,
  { hue: number; texture: 'shaded' | 'checker' | 'stripes' | 'speckle' | 'bands' | 'outlined' }
> = {
  circle: { hue: 0.0, texture: 'shaded' },
  square: { hue: 0.61, texture: 'checker' },
  triangle: { hue: 0.33, texture: 'stripes' },
  star: { hue: 0.13, texture: 'speckle' },
  ring: { hue: 0.83, texture: 'bands' },
  cross: { hue: 0.5, texture: 'outlined' },
};

interface SceneObject {
  category: number;
  shape: ShapeName;
  cx: number;
  cy: number;
  /** Radius in pixels along the object's two axes (aspect stretch). */
  rx: number;
  ry: number;
  cos: number;
  sin: number;
  texture: (typeof CLASS_LOOK)[ShapeName]['texture'];
  base: RGB;
  alt: RGB;
  period: number;
  noiseSeed: number;
}

function sampleObject(rng: Rng, size: number): SceneObject {
  const catIndex = rng.int(DEMO_CATEGORIES.length);
  const cat = DEMO_CATEGORIES[catIndex]!;
  const look = CLASS_LOOK[cat.name];
  const [lo, hi] = OBJECT_SCALE_RANGE;
  const diameter = size * Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
  const aspect = Math.exp(rng.uniform(-0.2, 0.2));
  const r = diameter / 2;
  // Centres may sit a little outside the image so borders truncate objects.
  const margin = 0.3 * r;
  const cx = rng.uniform(-margin, size + margin);
  const cy = rng.uniform(-margin, size + margin);
  const angle = rng.uniform(0, 2 * Math.PI);
  const offFamily = rng.bernoulli(0.12);
  const hue = offFamily ? rng.next() : look.hue + rng.uniform(-0.045, 0.045);
  const sat = rng.uniform(0.55, 1);
  const val = rng.uniform(0.5, 1);
  const base = hsv(hue, sat, val);
  const alt = hsv(hue + rng.uniform(-0.05, 0.05), sat * rng.uniform(0.3, 0.8), val * rng.uniform(0.35, 0.75));
  return {
    category: cat.id,
    shape: cat.name,
    cx,
    cy,
    rx: r * Math.sqrt(aspect),
    ry: r / Math.sqrt(aspect),
    cos: Math.cos(angle),
    sin: Math.sin(angle),
    texture: look.texture,
    base,
    alt,
    period: rng.uniform(0.25, 0.6),
    noiseSeed: rng.nextUint32() | 0,
  };
}

/** Object colour at unit-frame point (u, v) with signed distance d (unit frame) and pixel (x, y). */
function shade(o: SceneObject, u: number, v: number, dPx: number, x: number, y: number, out: RGB): void {
  let t: number; // 0 → base colour, 1 → alt colour
  switch (o.texture) {
    case 'shaded': {
      // A lit sphere: light from the upper left.
      const lx = u + 0.4;
      const ly = v + 0.4;
      t = Math.min(1, Math.sqrt(lx * lx + ly * ly) * 0.6);
      break;
    }
    case 'checker': {
      const a = Math.floor(u / o.period + 8) + Math.floor(v / o.period + 8);
      t = a % 2 === 0 ? 0 : 0.85;
      break;
    }
    case 'stripes':
      t = 0.5 + 0.5 * Math.sin((u * Math.PI) / (o.period * 0.6));
      break;
    case 'speckle':
      t = hash01(x, y, o.noiseSeed) < 0.25 ? 0.9 : 0.1;
      break;
    case 'bands':
      t = 0.5 + 0.5 * Math.cos((Math.sqrt(u * u + v * v) * Math.PI) / 0.15);
      break;
    case 'outlined':
      t = dPx > -2 ? 1 : 0.15 * hash01(x, y, o.noiseSeed);
      break;
  }
  const n = (hash01(x, y, o.noiseSeed ^ 0x5bd1e995) - 0.5) * 0.06;
  out[0] = o.base[0] + (o.alt[0] - o.base[0]) * t + n;
  out[1] = o.base[1] + (o.alt[1] - o.base[1]) * t + n;
  out[2] = o.base[2] + (o.alt[2] - o.base[2]) * t + n;
}

// ---------------------------------------------------------------------------------------------
// Background

function paintBackground(rng: Rng, scratch: DemoSceneScratch): void {
  const { size, img, coarse, fine } = scratch;
  const h0 = rng.next();
  const c1 = hsv(h0, rng.uniform(0.05, 0.6), rng.uniform(0.25, 0.9));
  const c2 = hsv(h0 + rng.uniform(-0.3, 0.3), rng.uniform(0.05, 0.6), rng.uniform(0.25, 0.9));
  const c3 = hsv(rng.next(), rng.uniform(0.1, 0.7), rng.uniform(0.2, 0.95));
  const gAngle = rng.uniform(0, 2 * Math.PI);
  noiseField(rng, 2 + rng.int(4), size, coarse);
  noiseField(rng, 8 + rng.int(16), size, fine);
  const mixAmount = rng.uniform(0.2, 0.8);
  const grain = rng.uniform(0.02, 0.1);
  const stripes = rng.bernoulli(0.45);
  const sAngle = rng.uniform(0, Math.PI);
  const sFreq = (2 * Math.PI) / (size * rng.uniform(0.03, 0.2));
  const sAmp = stripes ? rng.uniform(0.15, 0.5) : 0;
  const seed = rng.nextUint32() | 0;
  // Separable tables: the gradient is a sum of an x and a y term, the stripes sin(a_x + b_y).
  const inv = 1 / Math.max(1, size - 1);
  const gx = new Float64Array(size);
  const gy = new Float64Array(size);
  const sinX = new Float64Array(size);
  const cosX = new Float64Array(size);
  const sinY = new Float64Array(size);
  const cosY = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    gx[i] = (i * inv - 0.5) * Math.cos(gAngle);
    gy[i] = (i * inv - 0.5) * Math.sin(gAngle);
    const ax = i * Math.cos(sAngle) * sFreq;
    const ay = i * Math.sin(sAngle) * sFreq;
    sinX[i] = Math.sin(ax);
    cosX[i] = Math.cos(ax);
    sinY[i] = Math.sin(ay);
    cosY[i] = Math.cos(ay);
  }
  const [r1, g1, b1] = c1;
  const [r2, g2, b2] = c2;
  const [r3, g3, b3] = c3;
  for (let y = 0; y < size; y++) {
    const gyy = 0.5 + gy[y]!;
    const sy = sinY[y]!;
    const cy = cosY[y]!;
    for (let x = 0, p = y * size; x < size; x++, p++) {
      const gr = gyy + gx[x]!;
      const g = gr < 0 ? 0 : gr > 1 ? 1 : gr;
      const m = coarse[p]! * mixAmount;
      const f = (fine[p]! - 0.5) * 0.25 + (hash01(x, y, seed) - 0.5) * grain;
      const st = sAmp * (0.5 + 0.5 * (sinX[x]! * cy + cosX[x]! * sy));
      let vr = r1 + (r2 - r1) * g;
      let vg = g1 + (g2 - g1) * g;
      let vb = b1 + (b2 - b1) * g;
      vr += (r3 - vr) * m;
      vg += (g3 - vg) * m;
      vb += (b3 - vb) * m;
      vr += (r3 - vr) * st;
      vg += (g3 - vg) * st;
      vb += (b3 - vb) * st;
      const o = p * 3;
      img[o] = vr + f;
      img[o + 1] = vg + f;
      img[o + 2] = vb + f;
    }
  }
}

/** Unannotated clutter: thin antialiased strokes of random colours over the background. */
function paintStrokes(rng: Rng, size: number, img: Float32Array): void {
  const count = rng.int(10);
  for (let k = 0; k < count; k++) {
    const x0 = rng.uniform(0, size);
    const y0 = rng.uniform(0, size);
    const len = size * rng.uniform(0.1, 0.6);
    const a = rng.uniform(0, 2 * Math.PI);
    const x1 = x0 + len * Math.cos(a);
    const y1 = y0 + len * Math.sin(a);
    const half = rng.uniform(0.4, 1.6);
    const col = hsv(rng.next(), rng.uniform(0, 0.5), rng.uniform(0.1, 1));
    const alpha = rng.uniform(0.4, 0.9);
    const minX = Math.max(0, Math.floor(Math.min(x0, x1) - half - 1));
    const maxX = Math.min(size - 1, Math.ceil(Math.max(x0, x1) + half + 1));
    const minY = Math.max(0, Math.floor(Math.min(y0, y1) - half - 1));
    const maxY = Math.min(size - 1, Math.ceil(Math.max(y0, y1) + half + 1));
    const ex = x1 - x0;
    const ey = y1 - y0;
    const ee = ex * ex + ey * ey;
    for (let y = minY; y <= maxY; y++)
      for (let x = minX; x <= maxX; x++) {
        const wx = x + 0.5 - x0;
        const wy = y + 0.5 - y0;
        const t = Math.min(Math.max((wx * ex + wy * ey) / ee, 0), 1);
        const d = Math.hypot(wx - ex * t, wy - ey * t) - half;
        const cov = Math.min(Math.max(0.5 - d, 0), 1) * alpha;
        if (cov <= 0) continue;
        const o = (y * size + x) * 3;
        for (let c = 0; c < 3; c++) img[o + c] = img[o + c]! + (col[c]! - img[o + c]!) * cov;
      }
  }
}

// ---------------------------------------------------------------------------------------------
// One scene

/** One painted object, in paint order (back to front), annotated or not. */
export interface DemoSceneObject {
  category: number;
  shape: ShapeName;
  /** Centre and radii (pixels) of the shape's unit frame, before rotation. */
  center: [number, number];
  radii: [number, number];
  /** Visible extent [x, y, w, h]; null when nothing of it is visible. */
  bbox: [number, number, number, number] | null;
  /** Pixels where this object is the topmost with coverage ≥ ½, inside the image. */
  visibleArea: number;
  /** Pixels its shape covers with coverage ≥ ½ on an unbounded canvas, ignoring occlusion. */
  fullArea: number;
  /** visibleArea ≥ MIN_VISIBLE_FRACTION × fullArea: it gets a COCO annotation. */
  annotated: boolean;
}

export interface RenderedDemoScene {
  size: number;
  data: Uint8Array;
  objects: DemoSceneObject[];
  /** Per pixel, the index into `objects` of the topmost object covering it by ≥ ½, or −1. */
  owner: Int16Array;
}

/**
 * Paints one scene from `rng`: background, clutter strokes, then the objects back to front.
 * Returns every object's visible-mask statistics (exported for tests and debugging).
 */
export function renderDemoScene(
  rng: Rng,
  size: number,
  scratch: DemoSceneScratch = makeDemoSceneScratch(size),
): RenderedDemoScene {
  if (scratch.size !== size)
    throw new Error(`renderDemoScene: scratch is for size ${scratch.size}, not ${size}`);
  const img = scratch.img;
  paintBackground(rng, scratch);
  paintStrokes(rng, size, img);

  const [nMin, nMax] = OBJECTS_PER_IMAGE;
  const count = nMin + rng.int(nMax - nMin + 1);
  const objects = Array.from({ length: count }, () => sampleObject(rng, size));
  // Mostly large behind small, as in photographs, but not strictly: a jittered size order.
  const order = objects
    .map((o, i) => ({ i, key: Math.max(o.rx, o.ry) * rng.uniform(0.6, 1.4) }))
    .sort((a, b) => b.key - a.key || a.i - b.i)
    .map((e) => objects[e.i]!);

  const owner = new Int16Array(size * size).fill(-1);
  const fullArea = new Float64Array(count);
  const col: RGB = [0, 0, 0];
  order.forEach((o, k) => {
    const sdf = SDF[o.shape];
    // Pixels more than half a pixel beyond the shape's bounding circle cannot be covered: skip the SDF.
    const bound = BOUND[o.shape];
    const outside = (bound + 0.5 / Math.min(o.rx, o.ry)) ** 2;
    const scale = Math.min(o.rx, o.ry); // unit-frame distance → pixels (approximate under stretch)
    const extent = bound * Math.max(o.rx, o.ry) + 1;
    const x0 = Math.floor(o.cx - extent);
    const x1 = Math.ceil(o.cx + extent);
    const y0 = Math.floor(o.cy - extent);
    const y1 = Math.ceil(o.cy + extent);
    let full = 0;
    for (let y = y0; y <= y1; y++) {
      const inY = y >= 0 && y < size;
      const dy = y + 0.5 - o.cy;
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - o.cx;
        const u = (dx * o.cos + dy * o.sin) / o.rx;
        const v = (-dx * o.sin + dy * o.cos) / o.ry;
        if (u * u + v * v > outside) continue;
        const dPx = sdf(u, v) * scale;
        if (dPx >= 0.5) continue;
        if (dPx <= 0) full++;
        if (!inY || x < 0 || x >= size) continue;
        const cov = Math.min(0.5 - dPx, 1);
        const p = y * size + x;
        if (cov >= 0.5) owner[p] = k;
        shade(o, u, v, dPx, x, y, col);
        const q = p * 3;
        img[q] = img[q]! + (col[0] - img[q]!) * cov;
        img[q + 1] = img[q + 1]! + (col[1] - img[q + 1]!) * cov;
        img[q + 2] = img[q + 2]! + (col[2] - img[q + 2]!) * cov;
      }
    }
    fullArea[k] = full;
  });

  const minX = new Int32Array(count).fill(size);
  const minY = new Int32Array(count).fill(size);
  const maxX = new Int32Array(count).fill(-1);
  const maxY = new Int32Array(count).fill(-1);
  const visible = new Int32Array(count);
  for (let y = 0, p = 0; y < size; y++)
    for (let x = 0; x < size; x++, p++) {
      const k = owner[p]!;
      if (k < 0) continue;
      visible[k]!++;
      if (x < minX[k]!) minX[k] = x;
      if (x > maxX[k]!) maxX[k] = x;
      if (y < minY[k]!) minY[k] = y;
      if (y > maxY[k]!) maxY[k] = y;
    }

  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(img[i]! * 255);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const painted: DemoSceneObject[] = order.map((o, k) => {
    const vis = visible[k]!;
    return {
      category: o.category,
      shape: o.shape,
      center: [o.cx, o.cy],
      radii: [o.rx, o.ry],
      bbox: vis > 0 ? [minX[k]!, minY[k]!, maxX[k]! - minX[k]! + 1, maxY[k]! - minY[k]! + 1] : null,
      visibleArea: vis,
      fullArea: fullArea[k]!,
      annotated: vis > 0 && vis >= MIN_VISIBLE_FRACTION * fullArea[k]!,
    };
  });
  return { size, data, objects: painted, owner };
}

function checkOptions({ count, size, seed }: DemoSceneOptions): void {
  if (!Number.isInteger(count) || count < 0)
    throw new Error(`demo scenes: count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(size) || size < 16 || size > 4096)
    throw new Error(`demo scenes: size must be an integer in [16, 4096], got ${size}`);
  if (!Number.isInteger(seed)) throw new Error(`demo scenes: seed must be an integer, got ${seed}`);
}

/** One demo scene: the pixels and the annotated objects (`bbox` set) of scene `index` of a stream. */
export interface DemoScene {
  image: RawImage;
  /** COCO boxes [x, y, w, h], categories, visible areas and visible masks of the annotated objects. */
  annotations: {
    category: number;
    bbox: [number, number, number, number];
    area: number;
    segmentation: CocoRle;
  }[];
}

/**
 * Scene `index` of `generateDemoScenes(options)`, alone: each scene draws from its own fork of the
 * seed, so one image of a 10 000-scene dataset (a thumbnail, a transport view) costs one render.
 */
export function generateDemoScene(
  options: Omit<DemoSceneOptions, 'count'>,
  index: number,
  scratch = makeDemoSceneScratch(options.size),
): DemoScene {
  checkOptions({ ...options, count: index + 1 });
  const { size, seed, stream = 'train' } = options;
  const rng = new Rng(seed).fork(`${stream}-${index}`);
  // A scene where every object ends up hidden has nothing to detect: redraw (rare).
  let scene = renderDemoScene(rng, size, scratch);
  for (let attempt = 0; !scene.objects.some((o) => o.annotated) && attempt < 20; attempt++)
    scene = renderDemoScene(rng, size, scratch);
  const id = `demo/${stream}/${String(index + 1).padStart(6, '0')}`;
  // each object's mask is where it is the topmost: the pixels its visibleArea and bbox count
  const masks = encodeLabelMap(scene.owner, size, size, scene.objects.length);
  return {
    image: { id, width: size, height: size, data: scene.data },
    annotations: scene.objects.flatMap((o, k) =>
      o.annotated && o.bbox
        ? [
            {
              category: o.category,
              bbox: o.bbox,
              area: o.visibleArea,
              segmentation: compressRle(masks[k]!),
            },
          ]
        : [],
    ),
  };
}

/** Generates `count` scenes of `size`×`size` pixels with their COCO annotations. */
export function generateDemoScenes(options: DemoSceneOptions): DemoScenes {
  checkOptions(options);
  const { count, size } = options;
  const scratch = makeDemoSceneScratch(size);
  const images: RawImage[] = [];
  const coco: DemoCoco = {
    images: [],
    annotations: [],
    categories: DEMO_CATEGORIES.map((c) => ({ ...c })),
  };
  for (let i = 0; i < count; i++) {
    const scene = generateDemoScene(options, i, scratch);
    images.push(scene.image);
    const imageId = i + 1;
    coco.images.push({ id: imageId, file_name: `${scene.image.id}.png`, width: size, height: size });
    for (const a of scene.annotations)
      coco.annotations.push({
        id: coco.annotations.length + 1,
        image_id: imageId,
        category_id: a.category,
        bbox: a.bbox,
        area: a.area,
        segmentation: a.segmentation,
        iscrowd: 0,
      });
  }
  return { images, coco };
}

export interface DemoSplitOptions {
  /** Training images: identical to `generateDemoScenes({ count: train, size, seed })`, the pretraining set. */
  train: number;
  /** Held-out images from an independent stream; changing `val` never changes the training images. */
  val: number;
  size: number;
  seed: number;
}

/**
 * Train/val splits for detection fine-tuning and evaluation. As with COCO, the labelled training
 * split is the same set of images the backbone was pretrained on without labels; val is disjoint.
 */
export function demoSplit(options: DemoSplitOptions): { train: DemoScenes; val: DemoScenes } {
  const { train, val, size, seed } = options;
  return {
    train: generateDemoScenes({ count: train, size, seed, stream: 'train' }),
    val: generateDemoScenes({ count: val, size, seed, stream: 'val' }),
  };
}

/** Writes an image as PNG (for debugging and the sample artifact); optional boxes are drawn in white. */
export async function writeDemoPng(
  file: string,
  image: RawImage,
  boxes: readonly (readonly [number, number, number, number])[] = [],
): Promise<void> {
  const data = new Uint8Array(image.data);
  const put = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
    data.set([255, 255, 255], (y * image.width + x) * 3);
  };
  for (const [bx, by, bw, bh] of boxes) {
    const x0 = Math.round(bx);
    const y0 = Math.round(by);
    const x1 = Math.round(bx + bw) - 1;
    const y1 = Math.round(by + bh) - 1;
    for (let x = x0; x <= x1; x++) {
      put(x, y0);
      put(x, y1);
    }
    for (let y = y0; y <= y1; y++) {
      put(x0, y);
      put(x1, y);
    }
  }
  await sharp(data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toFile(file);
}
