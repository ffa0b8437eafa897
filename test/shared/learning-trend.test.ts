import { describe, expect, it } from 'vitest';
import {
  JUDGE_AFTER_FRACTION,
  learningTrend,
  MIN_POINTS,
  type LossSample,
} from '../../shared/metrics/learning-trend';

/** Deterministic noise (mulberry32 + Box–Muller), so a noisy series is the same on every run. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Steps 1..n of f(step), times (1 + relNoise · N(0,1)). */
function series(n: number, f: (step: number) => number, relNoise = 0, seed = 1): LossSample[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, (_, i) => ({ step: i + 1, value: f(i + 1) * (1 + relNoise * g()) }));
}

/**
 * loss/total of a real flat run: `selfemd finetune --detector retinanet --init random --train demo
 * --val demo --epochs 4` (64 steps, this machine's CPU defaults; it ended at AP 0.0) — issue 12's flat
 * RetinaNet, its classification loss rising.
 */
const FLAT_RETINANET = [
  0.69, 1.537, 1.125, 0.999, 1.267, 1.102, 1.08, 1.703, 1.45, 1.581, 0.903, 1.428, 1.387, 1.427, 1.528, 1.391,
  1.658, 1.556, 1.505, 1.572, 1.678, 1.67, 1.495, 1.009, 1.898, 1.682, 1.988, 1.609, 1.427, 1.461, 1.249,
  1.795, 1.343, 1.422, 1.648, 1.776, 2.336, 0.963, 1.509, 1.396, 1.309, 1.481, 1.908, 1.748, 2.087, 1.522,
  2.56, 1.512, 1.962, 1.661, 1.288, 1.532, 2.288, 1.832, 1.728, 1.373, 1.149, 1.537, 2.509, 1.287, 1.568,
  1.088, 1.609, 1.197,
].map((value, i) => ({ step: i + 1, value }));

/**
 * loss/total of a real Self-EMD pretraining: `selfemd pretrain --data demo --method self-emd --width 8
 * --epochs 4` (64 steps): it falls by half in eight steps, then levels off — as SSL losses do.
 */
const SELF_EMD_PRETRAIN = [
  3.93, 3.83, 3.28, 2.53, 2.08, 1.86, 1.85, 1.72, 1.71, 1.75, 1.71, 1.73, 1.77, 1.7, 1.69, 1.75, 1.7, 1.69,
  1.68, 1.72, 1.64, 1.77, 1.73, 1.73, 1.72, 1.74, 1.66, 1.67, 1.68, 1.77, 1.73, 1.74, 1.69, 1.75, 1.71, 1.74,
  1.66, 1.71, 1.74, 1.68, 1.71, 1.69, 1.72, 1.72, 1.72, 1.74, 1.69, 1.7, 1.76, 1.66, 1.71, 1.71, 1.72, 1.7,
  1.71, 1.75, 1.75, 1.73, 1.76, 1.72, 1.7, 1.73, 1.69, 1.69,
].map((value, i) => ({ step: i + 1, value }));

describe('learningTrend', () => {
  it('says it is too early with fewer points than two windows', () => {
    const v = learningTrend(
      series(MIN_POINTS - 1, () => 1),
      100,
    );
    expect(v.state).toBe('too-early');
    expect(v.change).toBeNull();
    expect(v.message).toMatch(/too early/);
  });

  it('reads a clean falling loss as falling, with its change and the windows it compares', () => {
    // 2 → ~0.74 over 100 of 400 steps.
    const v = learningTrend(
      series(100, (s) => 2 * Math.exp(-s / 100)),
      400,
    );
    expect(v.state).toBe('falling');
    expect(v.first).toMatchObject({ fromStep: 1, toStep: 20 });
    expect(v.last).toMatchObject({ fromStep: 81, toStep: 100 });
    // Medians of steps 1–20 and 81–100: 2e^(−0.105) and 2e^(−0.905).
    expect(v.change!).toBeCloseTo(Math.exp(-0.8) - 1, 2);
    expect(v.message).toBe('loss falling −55 % (steps 1–20 → 81–100)');
  });

  it('calls a flat loss flat before a quarter of the steps, and not learning after', () => {
    const flat = series(200, () => 1.5, 0.1, 7);
    const early = learningTrend(flat.slice(0, 40), 200);
    expect(early.state).toBe('flat');
    expect(early.judgeStep).toBe(50);
    const judged = learningTrend(flat.slice(0, 50), 200);
    expect(judged.state).toBe('not-learning');
    expect(judged.message).toMatch(/^not learning: the loss has not fallen 10 % after 25 % of the steps/);
    expect(learningTrend(flat, 200).state).toBe('not-learning');
  });

  it('does not read a noisy flat loss as falling or rising (many seeds)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const v = learningTrend(
        series(60, () => 1.5, 0.25, seed),
        1000,
      );
      expect(v.state, `seed ${seed}: ${v.message}`).toBe('flat');
    }
  });

  it('judges a rising loss not learning once a quarter of the steps is done', () => {
    const rising = series(64, (s) => 0.7 + 0.01 * s, 0.03, 3);
    expect(learningTrend(rising.slice(0, 15), 64).state).toBe('rising');
    expect(learningTrend(rising, 64).state).toBe('not-learning');
    expect(learningTrend(rising, 64).change!).toBeGreaterThan(0.3);
  });

  it('sees the recorded flat RetinaNet run as not learning from its 16th step', () => {
    expect(learningTrend(FLAT_RETINANET.slice(0, 16), 64).state).toBe('not-learning');
    const v = learningTrend(FLAT_RETINANET, 64);
    expect(v.state).toBe('not-learning');
    expect(v.change!).toBeGreaterThan(0);
  });

  it('keeps the early level as baseline once judged: a pretraining loss that fell, then levelled off, is falling', () => {
    for (const n of [16, 32, 64]) {
      const v = learningTrend(SELF_EMD_PRETRAIN.slice(0, n), 64);
      expect(v.state, `${n} steps: ${v.message}`).toBe('falling');
      expect(v.first).toMatchObject({ fromStep: 1, toStep: 4 });
    }
    expect(learningTrend(SELF_EMD_PRETRAIN, 64).change!).toBeLessThan(-0.4);
  });

  it('does not flag a noisy falling loss at the judgement point, and reads it falling later (many seeds)', () => {
    // Falls by 30 % by step 100 and to about half by step 400 under 20 % batch noise.
    for (let seed = 1; seed <= 20; seed++) {
      const s = series(400, (t) => 1.6 * (0.5 + 0.5 * Math.exp(-t / 80)), 0.2, seed);
      const judged = learningTrend(s.slice(0, 100), 400);
      expect(judged.state, `seed ${seed}: ${judged.message}`).not.toBe('not-learning');
      expect(judged.change!).toBeLessThan(-0.1);
      for (const n of [200, 400]) {
        const v = learningTrend(s.slice(0, n), 400);
        expect(v.state, `seed ${seed}, ${n} steps: ${v.message}`).toBe('falling');
      }
    }
  });

  it('is not fooled by spikes at either end', () => {
    const s = series(100, (t) => 2 - t / 100);
    s[0]!.value = 0.01; // a lucky first batch
    s[99]!.value = 50; // one hard batch
    s[98]!.value = 40;
    expect(learningTrend(s, 100).state).toBe('falling');
  });

  it('never says not learning without a planned length', () => {
    const v = learningTrend(
      series(200, () => 1),
      null,
    );
    expect(v.state).toBe('flat');
    expect(v.judgeStep).toBeNull();
  });

  it('reports a non-finite newest loss as diverged, and passes over earlier NaNs', () => {
    const s = series(40, (t) => 2 - t / 40);
    expect(learningTrend([...s, { step: 41, value: NaN }], 100).state).toBe('diverged');
    s[10]!.value = NaN;
    expect(learningTrend(s, 100).state).toBe('falling');
  });

  it('takes its judgement fraction and required fall from options', () => {
    const s = series(30, (t) => 2 - t / 200); // medians of steps 1–6 and 25–30: −6 %
    expect(learningTrend(s, 100).state).toBe('not-learning');
    expect(learningTrend(s, 100, { minRelativeFall: 0.05 }).state).toBe('falling');
    expect(learningTrend(s, 100, { judgeAfterFraction: 0.5 }).state).toBe('falling');
    expect(JUDGE_AFTER_FRACTION).toBe(0.25);
  });
});
