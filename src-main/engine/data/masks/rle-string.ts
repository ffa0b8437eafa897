/**
 * pycocotools' compressed RLE counts string (rleToString / rleFrString in common/maskApi.c), written
 * from a reading of that file: each count from the third on is stored as the difference to the count
 * two before it, and each value as a sign-extended little-endian sequence of 5-bit groups, one ASCII
 * character (48 + group, +32 when more groups follow) per group.
 *
 * The C code uses 64-bit longs; JavaScript's bitwise operators are 32-bit, so this works with
 * arithmetic (exact up to 2^53) and never with `|`, `<<` or `>>` on the values.
 */

import type { Rle } from './rle';

/** An RLE as COCO files hold it (annotations, results): its counts as the compressed string. */
export function compressRle(rle: Rle): { size: [number, number]; counts: string } {
  return { size: rle.size, counts: compressCounts(rle.counts) };
}

/** The compressed string of uncompressed counts. */
export function compressCounts(counts: readonly number[]): string {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]!;
    if (i > 2) x -= counts[i - 2]!;
    let more = true;
    while (more) {
      // low 5 bits of x (two's complement for negatives), then an arithmetic shift right by 5
      const low = x - Math.floor(x / 32) * 32;
      x = Math.floor(x / 32);
      // the group's top bit is the sign of what is left: stop once the rest is all sign
      more = low >= 16 ? x !== -1 : x !== 0;
      out.push(48 + low + (more ? 32 : 0));
    }
  }
  return String.fromCharCode(...out);
}

/** Uncompressed counts of a compressed string; throws on a character outside pycocotools' alphabet. */
export function decompressCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let scale = 1; // 32^k
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error(`compressed RLE counts end inside a value at character ${p}`);
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63)
        throw new Error(
          `compressed RLE counts: character ${JSON.stringify(s[p])} at ${p} is outside '0'..'o'`,
        );
      x += (c % 32) * scale;
      more = c >= 32;
      p++;
      scale *= 32;
      // a last group with its top bit set is negative: sign-extend (x |= -1 << 5k)
      if (!more && c % 32 >= 16) x -= scale;
    }
    if (counts.length > 2) x += counts[counts.length - 2]!;
    counts.push(x);
  }
  return counts;
}
