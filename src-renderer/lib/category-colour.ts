/**
 * One colour per category id, the same in every view that draws labelled or predicted objects
 * (boxes as CSS colours, masks as RGB pixels): hues spread around the wheel by the golden angle.
 */
const SATURATION = 0.8;
const LIGHTNESS = 0.6;

const hue = (categoryId: number) => (((categoryId * 137.508) % 360) + 360) % 360;

/** The category's colour as CSS. */
export function categoryColour(categoryId: number): string {
  return `hsl(${hue(categoryId)} ${SATURATION * 100}% ${LIGHTNESS * 100}%)`;
}

/** The same colour as 0–255 RGB (HSL to RGB as CSS Color 4 defines it), for pixels. */
export function categoryRgb(categoryId: number): [number, number, number] {
  const h = hue(categoryId);
  const a = SATURATION * Math.min(LIGHTNESS, 1 - LIGHTNESS);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (LIGHTNESS - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
