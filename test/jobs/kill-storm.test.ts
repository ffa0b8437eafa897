/**
 * The short kill storm of the fault suite (`npm run faults` runs the long one): a tiny pretraining run
 * under the real CLI is SIGKILLed three times — its worker, its supervisor and worker together, its
 * supervisor alone — and resumed each time; it must complete with every metric exactly once, a sound
 * database, and the same final weights as an uninterrupted run, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { runKillStorm } from '../../bench/faults/kill-storm';

describe('kill storm', () => {
  it('survives SIGKILLs of the worker, the supervisor and both, with nothing lost or changed', async () => {
    const r = await runKillStorm({
      kills: 3,
      targets: ['worker', 'supervisor+worker', 'supervisor'],
      epochs: 8,
      seed: 1,
    });
    expect(r.kills.map((k) => k.target)).toEqual(['worker', 'supervisor+worker', 'supervisor']);
    expect(r.status).toBe('completed');
    expect(r.metricsExactlyOnce).toBe(true);
    expect(r.integrity).toEqual(['ok']);
    expect(r.foreignKeyViolations).toBe(0);
    expect(r.differing).toEqual([]);
    expect(r.firstLossDifference).toBeNull();
    expect(r.weightsEqual).toBe(true);
  }, 240_000);
});
