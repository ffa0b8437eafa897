/**
 * Test files `npm test` leaves out, run by `npm run test:slow` (vitest's `--mode slow`). Each is a
 * long variant whose proof another file in `npm test` carries (named beside it): the machine `npm
 * test` runs on has 2 cores and the suite must stay under 10 minutes.
 */
export const SLOW_FILES: Record<string, string> = {
  // Mask R-CNN is this detector plus a mask head, trained with this recipe; mask-rcnn-overfit.test.ts
  // asserts the same bars on its box branch (RPN and box classification losses halved, box AP50 ≥ 0.9).
  'test/engine/detection/faster-rcnn-overfit.test.ts': 'test/engine/detection/mask-rcnn-overfit.test.ts',
};
