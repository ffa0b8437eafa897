/**
 * `npm run bench:detection`'s verdict with several seeds is judged on the means over them, not on
 * any one run (one run's AP50 moves between seeds by more than the target's 3 points).
 */
import { describe, expect, it } from 'vitest';
import { benchMeans, benchTable, type BenchRow } from '../../bench/detection-bench-table';

const side = (AP50: number) => ({ AP: AP50 / 3, AP50, cpuS: 10, wallS: 20 });
const row = (init: string, seed: number, ours: number, tv: number): BenchRow => ({
  detector: 'retinanet',
  init,
  seed,
  steps: 1024,
  ours: side(ours),
  torchvision: side(tv),
  deltaAP50: ours - tv,
});

describe('bench:detection table', () => {
  it('judges a pair run with several seeds on its means, each run only listed', () => {
    // the first seed alone would miss (−15.6), the mean meets the target
    const rows = [row('pretrained', 0, 26.7, 42.3), row('pretrained', 1, 40, 25), row('random', 0, 37.8, 20)];
    const means = benchMeans(rows);
    expect(means.map((m) => [m.init, m.seeds])).toEqual([
      ['pretrained', [0, 1]],
      ['random', [0]],
    ]);
    expect(means[0]!.ours.AP50).toBeCloseTo(33.35, 6);
    expect(means[0]!.torchvision.AP50).toBeCloseTo(33.65, 6);
    expect(means[0]!.met).toBe(true);
    const lines = benchTable(rows).split('\n');
    expect(lines.filter((l) => l.includes('| pretrained | 0 |'))[0]).toContain('| (mean) |');
    expect(lines.find((l) => l.includes('mean of 2'))).toMatch(/\| -0\.3 \| met \|/);
    // a pair run once carries its own verdict
    expect(lines.find((l) => l.includes('| random | 0 |'))).toMatch(/\| \+17\.8 \| met \|/);
  });

  it('says MISSED when the mean gap is beyond 3 AP50 points', () => {
    const rows = [row('pretrained', 0, 30, 35), row('pretrained', 1, 31, 34)];
    expect(benchMeans(rows)[0]!.met).toBe(false);
    expect(benchTable(rows)).toMatch(/mean of 2 .*\| -4\.0 \| MISSED \|/);
  });
});
