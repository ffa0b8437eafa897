/**
 * The mask functions against pycocotools itself, live, where it can be imported (it skips with one
 * line elsewhere; the published expected strings in rle.test.ts run everywhere): random polygons
 * (self-intersecting, partly outside the image) through frPyObjects, random masks through encode,
 * toBbox and area, pairs through merge and iou with crowd flags.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rleIou } from '../../../../src-main/engine/data/masks/mask-iou';
import { polygonsToRle } from '../../../../src-main/engine/data/masks/polygon';
import { encodeMask, mergeRles, rleArea, rleToBbox } from '../../../../src-main/engine/data/masks/rle';
import { compressCounts, decompressCounts } from '../../../../src-main/engine/data/masks/rle-string';
import { rng as mulberry32 } from '../../ssl/reference';
import { findPycocotools } from '../../eval/pycocotools-live';
import { removeTempDir, tempDir } from '../../../temp-dir';

const { python, skipReason } = findPycocotools('live pycocotools mask-API cross-check');

const runner = `
import json, sys
import numpy as np
import pycocotools.mask as M
d = json.load(open(sys.argv[1]))
out = {'polys': [], 'masks': [], 'pairs': []}
for p in d['polys']:
    out['polys'].append(M.merge(M.frPyObjects(p['xy'], p['h'], p['w']))['counts'].decode())
rles = []
for m in d['masks']:
    a = np.asfortranarray(np.array(m['rows'], dtype=np.uint8))
    r = M.encode(a)
    rles.append(r)
    out['masks'].append([r['counts'].decode(), [float(v) for v in M.toBbox(r)], int(M.area(r))])
for i in range(0, len(rles) - 1, 2):
    a, b = rles[i], rles[i + 1]
    if a['size'] != b['size']:
        continue
    iou = M.iou([a], [b, b], [1, 0])
    out['pairs'].append([i, M.merge([a, b], 0)['counts'].decode(), M.merge([a, b], 1)['counts'].decode(),
                         float(iou[0][0]), float(iou[0][1])])
print(json.dumps(out))
`;

describe.skipIf(Boolean(skipReason))('mask API vs pycocotools, live', () => {
  const dir = skipReason ? '' : tempDir('mask-api-');
  afterAll(() => {
    if (dir) removeTempDir(dir);
  });

  it('agrees on every string, box, area, merge and IoU', () => {
    const rnd = mulberry32(17);
    const polys = Array.from({ length: 400 }, () => {
      const h = 5 + Math.floor(rnd() * 70);
      const w = 5 + Math.floor(rnd() * 70);
      const parts = 1 + Math.floor(rnd() * 2);
      const xy = Array.from({ length: parts }, () => {
        const n = 3 + Math.floor(rnd() * 10);
        const p: number[] = [];
        for (let j = 0; j < n; j++)
          p.push(
            Math.round((rnd() * 1.4 - 0.2) * w * 100) / 100,
            Math.round((rnd() * 1.4 - 0.2) * h * 100) / 100,
          );
        return p;
      });
      return { h, w, xy };
    });
    const masks = Array.from({ length: 120 }, (_, k) => {
      // pairs share a size so that they can be merged and compared
      const h = 1 + ((k >> 1) % 13) * 4;
      const w = 1 + ((k >> 1) % 7) * 6;
      const p = rnd();
      const rows = Array.from({ length: h }, () => Array.from({ length: w }, () => (rnd() < p ? 1 : 0)));
      return { rows, h, w };
    });
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify({ polys, masks: masks.map((m) => ({ rows: m.rows })) }));
    const out = spawnSync(python, ['-c', runner, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(out.status, out.stderr).toBe(0);
    const ref = JSON.parse(out.stdout) as {
      polys: string[];
      masks: [string, number[], number][];
      pairs: [number, string, string, number, number][];
    };
    polys.forEach((p, k) =>
      expect(compressCounts(polygonsToRle(p.xy, p.h, p.w).counts), `polygon ${k}`).toBe(ref.polys[k]),
    );
    const rles = masks.map((m) =>
      encodeMask({ height: m.h, width: m.w, data: Uint8Array.from(m.rows.flat()) }),
    );
    rles.forEach((r, k) => {
      const [s, box, area] = ref.masks[k]!;
      expect(compressCounts(r.counts), `mask ${k}`).toBe(s);
      expect(decompressCounts(s)).toEqual(r.counts);
      expect(rleToBbox(r), `mask ${k} box`).toEqual(box);
      expect(rleArea(r)).toBe(area);
    });
    expect(ref.pairs.length).toBe(60);
    for (const [i, union, inter, crowdIou, iou] of ref.pairs) {
      const a = rles[i]!;
      const b = rles[i + 1]!;
      expect(compressCounts(mergeRles([a, b]).counts), `pair ${i} union`).toBe(union);
      expect(compressCounts(mergeRles([a, b], true).counts), `pair ${i} intersection`).toBe(inter);
      // pycocotools' iou skips pairs whose boxes do not overlap (0 either way) before this count
      expect(rleIou(a, b, true)).toBe(crowdIou);
      expect(rleIou(a, b, false)).toBe(iou);
    }
  });
});
