/**
 * Exponential moving average with TensorBoard's debiasing, so the smoothed curve starts at the first
 * value instead of rising from zero. Non-finite values are passed over (shown as gaps) and do not
 * poison the average.
 */
export type XY = [number, number | null];

export function emaSmooth(points: readonly XY[], weight: number): XY[] {
  if (weight <= 0) return points.map(([x, y]) => [x, y]);
  let last = 0;
  let n = 0;
  return points.map(([x, y]) => {
    if (y === null || !Number.isFinite(y)) return [x, null];
    last = last * weight + (1 - weight) * y;
    n++;
    return [x, last / (1 - weight ** n)];
  });
}

/**
 * A y range that leaves out outliers (Tukey's far fences: beyond 3 interquartile ranges from the
 * quartiles), or null when no value is that far out and the chart should scale itself.
 */
export function clippedRange(values: readonly (number | null)[], k = 3): [number, number] | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length < 8) return null;
  const q = (p: number) => {
    const i = p * (v.length - 1);
    const lo = Math.floor(i);
    return v[lo]! + (v[Math.min(v.length - 1, lo + 1)]! - v[lo]!) * (i - lo);
  };
  const q1 = q(0.25);
  const q3 = q(0.75);
  const iqr = q3 - q1;
  const lo = q1 - k * iqr;
  const hi = q3 + k * iqr;
  if (v[0]! >= lo && v[v.length - 1]! <= hi) return null;
  const inside = v.filter((x) => x >= lo && x <= hi);
  const min = inside[0] ?? q1;
  const max = inside[inside.length - 1] ?? q3;
  const pad = (max - min) * 0.08 || Math.abs(max) * 0.05 || 1;
  return [min - pad, max + pad];
}
