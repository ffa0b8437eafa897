/**
 * `selfemd eval --iou-type segm`: the demo scenes' masks as ground truth, RLE results scored as
 * evaluateCoco(iouType 'segm') scores them, pycocotools' box-area rule when the results carry bbox,
 * and one-line errors for a bad --iou-type, results without masks and ground truth without masks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { evalCommand } from '../../src-main/cli/commands/eval';
import { generateDemoScenes } from '../../src-main/engine/data/demo-scenes';
import { decodeSegmentation } from '../../src-main/engine/data/masks/segmentation';
import { detectionWithMask } from '../../src-main/engine/eval/coco-detections';
import { evaluateCoco } from '../../src-main/engine/eval/cocoeval';
import type { CocoDetection } from '../../src-main/engine/eval/coco-types';
import { tempDir } from '../temp-dir';

const dir = tempDir('selfemd-eval-segm-');
const size = 64;
const { coco } = generateDemoScenes({ count: 4, size, seed: 1 });
const gtFile = path.join(dir, 'gt.json');
fs.writeFileSync(gtFile, JSON.stringify(coco));

/** Each gt's own mask, every other one shifted one pixel right (a worse IoU, the same box size). */
const detections: CocoDetection[] = coco.annotations.map((a, k) => {
  const m = decodeSegmentation(a.segmentation, size, size);
  if (k % 2 === 1) {
    const shifted = new Uint8Array(m.data.length);
    for (let y = 0; y < size; y++)
      for (let x = 1; x < size; x++) shifted[y * size + x] = m.data[y * size + x - 1]!;
    m.data = shifted;
  }
  return detectionWithMask(
    { image_id: a.image_id, category_id: a.category_id, bbox: a.bbox, score: 1 - k / 1000 },
    m,
  );
});

async function run(args: string[]): Promise<{ out: string; err: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await evalCommand(args);
    return {
      out: log.mock.calls.map((c) => String(c[0])).join('\n'),
      err: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('selfemd eval --iou-type segm', () => {
  it('scores the masks as evaluateCoco does, mask areas without bbox and box areas with it', async () => {
    const noBox = path.join(dir, 'nobox.json');
    fs.writeFileSync(noBox, JSON.stringify(detections.map(({ bbox: _b, ...d }) => d)));
    const r = await run(['--gt', gtFile, '--dt', noBox, '--iou-type', 'segm', '--json']);
    const out = JSON.parse(r.out) as { iou_type: string; stats: number[]; voc?: unknown };
    expect(out.iou_type).toBe('segm');
    expect(out.voc).toBeUndefined();
    const want = evaluateCoco(coco, detections, { iouType: 'segm' }).stats;
    expect(out.stats).toEqual(want);
    // the exact masks match at every threshold, the shifted ones not at the strictest: 0 < AP < 1
    expect(out.stats[1]).toBeGreaterThan(0.5);
    expect(out.stats[0]).toBeLessThan(1);
    // with boxes the masks still decide the IoU: different numbers from the bbox evaluation
    const bboxStats = evaluateCoco(coco, detections).stats;
    expect(out.stats).not.toEqual(bboxStats);
    expect(r.err).toBe('');

    const withBox = path.join(dir, 'withbox.json');
    fs.writeFileSync(withBox, JSON.stringify(detections));
    const b = await run(['--gt', gtFile, '--dt', withBox, '--iou-type', 'segm', '--json']);
    expect(JSON.parse(b.out).stats).toEqual(
      evaluateCoco(coco, detections, { iouType: 'segm', dtAreaFromBox: true }).stats,
    );
    expect(b.err).toMatch(
      /results carry bbox, so \(as pycocotools' loadRes does\) detections are sized by their box's area/,
    );

    const text = await run(['--gt', gtFile, '--dt', noBox, '--iou-type', 'segm']);
    expect(text.out).toMatch(
      /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = \d\.\d{3}/,
    );
    expect(text.out).not.toMatch(/VOC AP50/);
  });

  it('says what is wrong in one line', async () => {
    const boxesOnly = path.join(dir, 'boxes.json');
    fs.writeFileSync(boxesOnly, JSON.stringify(detections.map(({ segmentation: _s, ...d }) => d)));
    await expect(run(['--gt', gtFile, '--dt', boxesOnly, '--iou-type', 'mask'])).rejects.toThrow(
      /--iou-type mask: expected bbox or segm/,
    );
    await expect(run(['--gt', gtFile, '--dt', boxesOnly, '--iou-type', 'segm'])).rejects.toThrow(
      /no detection has a segmentation; --iou-type segm scores masks/,
    );
    const bare = path.join(dir, 'gt-boxes.json');
    fs.writeFileSync(
      bare,
      JSON.stringify({ ...coco, annotations: coco.annotations.map(({ segmentation: _s, ...a }) => a) }),
    );
    await expect(
      run(['--gt', bare, '--dt', path.join(dir, 'withbox.json'), '--iou-type', 'segm']),
    ).rejects.toThrow(/selfemd eval: segm evaluation needs instance masks/);
  });
});
