/**
 * Renders a transport inspection as one PNG in the manner of the paper's Fig. 5:
 *   [crop 1 with the heat map of where the chosen cell of crop 2 sends its mass] [crop 2, chosen cell
 *   outlined] [the whole plan matrix π, rows = cells of crop 1, columns = cells of crop 2].
 * Plain pixel work over sharp's raw buffers, so it needs no canvas.
 */
import sharp from 'sharp';
import type { TransportInspection } from './transport';

/** A perceptual-ish dark-blue → yellow ramp (viridis-like endpoints). */
function ramp(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const stops: [number, number, number][] = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const f = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(f));
  const u = f - i;
  return [0, 1, 2].map((k) => Math.round(stops[i][k] * (1 - u) + stops[i + 1][k] * u)) as [
    number,
    number,
    number,
  ];
}

/** The column (cell of crop 2) whose transported mass is most concentrated: the clearest match to show. */
export function mostConfidentColumn(plan: number[], n: number, m: number): number {
  let best = 0;
  let bestScore = -1;
  for (let j = 0; j < m; j++) {
    let sum = 0;
    let max = 0;
    for (let i = 0; i < n; i++) {
      sum += plan[i * m + j];
      max = Math.max(max, plan[i * m + j]);
    }
    const score = sum > 0 ? max / sum : 0;
    if (score > bestScore) [best, bestScore] = [j, score];
  }
  return best;
}

export async function renderTransportFigure(t: TransportInspection, column?: number): Promise<Buffer> {
  const [h1, w1] = t.grid1;
  const [h2, w2] = t.grid2;
  const n = h1 * w1;
  const m = h2 * w2;
  const col = column ?? mostConfidentColumn(t.plan, n, m);
  const crop1 = await sharp(t.crops[0]).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const crop2 = await sharp(t.crops[1]).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const S = crop1.info.width;

  // Crop 1 blended with the chosen column's weights, per cell.
  const weights = Array.from({ length: n }, (_, i) => t.plan[i * m + col]);
  const wmax = Math.max(...weights, 1e-12);
  const left = Buffer.from(crop1.data);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const cell =
        Math.min(h1 - 1, Math.floor((y * h1) / S)) * w1 + Math.min(w1 - 1, Math.floor((x * w1) / S));
      const [r, g, b] = ramp(weights[cell] / wmax);
      const o = (y * S + x) * 3;
      left[o] = Math.round(left[o] * 0.45 + r * 0.55);
      left[o + 1] = Math.round(left[o + 1] * 0.45 + g * 0.55);
      left[o + 2] = Math.round(left[o + 2] * 0.45 + b * 0.55);
    }

  // Crop 2 with the chosen cell outlined in white.
  const right = Buffer.from(crop2.data);
  const cy = Math.floor(col / w2);
  const cx = col % w2;
  const [y0, y1] = [Math.floor((cy * S) / h2), Math.floor(((cy + 1) * S) / h2) - 1];
  const [x0, x1] = [Math.floor((cx * S) / w2), Math.floor(((cx + 1) * S) / w2) - 1];
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const edge = y - y0 < 2 || y1 - y < 2 || x - x0 < 2 || x1 - x < 2;
      if (!edge) continue;
      const o = (y * S + x) * 3;
      right[o] = right[o + 1] = right[o + 2] = 255;
    }

  // The plan matrix, scaled to S×S with nearest neighbour.
  const pmax = Math.max(...t.plan, 1e-12);
  const matrix = Buffer.alloc(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const i = Math.min(n - 1, Math.floor((y * n) / S));
      const j = Math.min(m - 1, Math.floor((x * m) / S));
      const [r, g, b] = ramp(t.plan[i * m + j] / pmax);
      const o = (y * S + x) * 3;
      matrix[o] = r;
      matrix[o + 1] = g;
      matrix[o + 2] = b;
    }

  const gap = 8;
  const raw = (data: Buffer) => ({ input: data, raw: { width: S, height: S, channels: 3 as const } });
  return sharp({
    create: { width: 3 * S + 2 * gap, height: S, channels: 3, background: { r: 255, g: 255, b: 255 } },
  })
    .composite([
      { ...raw(left), left: 0, top: 0 },
      { ...raw(right), left: S + gap, top: 0 },
      { ...raw(matrix), left: 2 * (S + gap), top: 0 },
    ])
    .png()
    .toBuffer();
}
