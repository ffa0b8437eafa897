/**
 * The fault suite's bad-input scenario (bench/faults/malformed-corpus), as `npm test` runs it: every
 * malformed folder, COCO, VOC and YOLO case of the corpus gets a report naming each bad file and its
 * problem, every good item is imported, and nothing recorded before is lost.
 */
import { describe, expect, it } from 'vitest';
import { runMalformedCorpus } from '../../bench/faults/malformed-corpus';

describe('malformed-input corpus through datasets.import', () => {
  it('names every bad item, imports every good one, loses nothing', async () => {
    const r = await runMalformedCorpus();
    const failed = r.cases.filter((c) => !c.ok).map((c) => `${c.name}: ${c.problems.join('; ')}`);
    expect(failed).toEqual([]);
    expect(r.lost).toEqual([]);
    // The corpus really ran: both outcomes occurred and bad items were checked by name.
    expect(r.cases.filter((c) => c.outcome === 'imported').length).toBeGreaterThanOrEqual(7);
    expect(r.cases.filter((c) => c.outcome === 'refused').length).toBeGreaterThanOrEqual(2);
    expect(r.cases.reduce((n, c) => n + c.named, 0)).toBeGreaterThanOrEqual(25);
    expect(r.before).toEqual({ datasets: expect.any(Number), runs: 1 });
    expect(r.before.datasets).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
