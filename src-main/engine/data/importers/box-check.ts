/**
 * What importers do with a box against its image: keep it, clip it (partly outside), or skip it
 * (non-finite, non-positive size, entirely outside). Boxes are [x, y, w, h], continuous coordinates.
 */

export type BoxVerdict =
  | { kind: 'ok'; bbox: [number, number, number, number] }
  | { kind: 'clipped'; bbox: [number, number, number, number]; problem: string }
  | { kind: 'skip'; problem: string };

/** Excursions below this many pixels are float noise from format conversions: clipped silently. */
const NOISE = 1e-6;

const fmt = (v: number) => String(Math.round(v * 1000) / 1000);
const show = (b: readonly number[]) => `[${b.map(fmt).join(', ')}]`;

export function checkBox(bbox: readonly number[], width: number, height: number): BoxVerdict {
  if (bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return { kind: 'skip', problem: `box ${JSON.stringify(bbox)} is not four finite numbers: skipped` };
  }
  const [x, y, w, h] = bbox as [number, number, number, number];
  if (w <= 0 || h <= 0) return { kind: 'skip', problem: `box ${show(bbox)} has non-positive size: skipped` };
  if (x >= width || y >= height || x + w <= 0 || y + h <= 0) {
    return {
      kind: 'skip',
      problem: `box ${show(bbox)} lies entirely outside the ${width}×${height} image: skipped`,
    };
  }
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(width, x + w);
  const y1 = Math.min(height, y + h);
  const clipped: [number, number, number, number] = [x0, y0, x1 - x0, y1 - y0];
  const moved = x0 - x > NOISE || y0 - y > NOISE || x + w - x1 > NOISE || y + h - y1 > NOISE;
  if (moved) {
    return {
      kind: 'clipped',
      bbox: clipped,
      problem: `box ${show(bbox)} extends outside the ${width}×${height} image: clipped to ${show(clipped)}`,
    };
  }
  const exact = x0 === x && y0 === y && x1 === x + w && y1 === y + h;
  return { kind: 'ok', bbox: exact ? [x, y, w, h] : clipped };
}
