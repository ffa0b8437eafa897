/**
 * Mask R-CNN's box → mask coordinate mapping against PyTorch (where Debian's PyTorch is; else one
 * skip line): the training targets (mask-targets.ts) against RoIAlign(aligned=True, adaptive
 * sampling) of the mask, ≥ 0.5, as detectron2's BitMasks.crop_and_resize makes them, and the
 * paste-back (paste-masks.ts) against grid_sample at the box window's pixel centres, ≥ 0.5, as its
 * paste_masks_in_image — 150 random cases each (blob masks, float boxes, some past the image, M from
 * 2 to 28; mask_reference.py). Every bin and pixel must agree: an off-by-one or a half-pixel shift
 * moves whole rows or columns (measured: 0 differing of 150 + 150 cases).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { torchvisionMissing } from '../../../bench/detection-reference';
import { maskTargets, placeMask } from '../../../src-main/engine/detection/mask-rcnn/mask-targets';
import { pasteMask } from '../../../src-main/engine/detection/mask-rcnn/paste-masks';
import { skipUnlessTool } from '../../optional-tool';

const PYTHON = process.env.SELFEMD_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'mask_reference.py');

interface TargetCase {
  height: number;
  width: number;
  mask: number[];
  box: number[];
  M: number;
  target: number[];
}
interface PasteCase {
  height: number;
  width: number;
  probs: number[];
  box: number[];
  M: number;
  pasted: number[];
}

const skipReason = skipUnlessTool({
  tool: 'PyTorch',
  tests: "Mask R-CNN targets and paste-back against detectron2's rules computed by PyTorch",
  missing: torchvisionMissing(PYTHON),
  install: 'apt-get install python3-torch python3-torchvision (or set SELFEMD_TORCH_PYTHON)',
});

describe.skipIf(skipReason !== '')('Mask R-CNN masks against PyTorch', () => {
  const reference = () => {
    const r = spawnSync(PYTHON, [SCRIPT, '12'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${SCRIPT} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { targets: TargetCase[]; paste: PasteCase[] };
  };
  let cases: ReturnType<typeof reference> | undefined;
  const get = () => (cases ??= reference());

  it('training targets: RoIAlign (aligned) of the mask to M × M, thresholded at 0.5', () => {
    const wrong: string[] = [];
    for (const [i, c] of get().targets.entries()) {
      const mask = { height: c.height, width: c.width, data: Uint8Array.from(c.mask) };
      const ours = maskTargets(Float32Array.from(c.box), [placeMask(mask, [c.height, c.width], false)], c.M);
      const differ = c.target.filter((v, k) => v !== ours[k]).length;
      if (differ > 0)
        wrong.push(`case ${i} (M ${c.M}, box ${c.box.map((v) => v.toFixed(2))}): ${differ} bins`);
    }
    expect(wrong).toEqual([]);
  }, 150_000);

  it('paste-back: bilinear at the pixel centres of the box window, thresholded at 0.5', () => {
    const wrong: string[] = [];
    for (const [i, c] of get().paste.entries()) {
      const ours = pasteMask(Float32Array.from(c.probs), 0, c.M, c.box, c.height, c.width);
      const differ = c.pasted.filter((v, k) => v !== ours.data[k]).length;
      if (differ > 0)
        wrong.push(`case ${i} (M ${c.M}, box ${c.box.map((v) => v.toFixed(2))}): ${differ} pixels`);
    }
    expect(wrong).toEqual([]);
  }, 150_000);
});
