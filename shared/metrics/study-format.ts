/** How a study's numbers are written (its Markdown, its screen): percent with one decimal. */

/** One decimal; an em dash for a number that is undefined (no objects of a size in val). */
export const oneDecimal = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(1);

/** Signed, one decimal, a real minus sign; what rounds to zero is +0.0 (not −0.0). */
export function signedOneDecimal(v: number): string {
  const r = Math.round(v * 10) / 10;
  return `${r < 0 ? '−' : '+'}${Math.abs(r).toFixed(1)}`;
}
