/**
 * The short kill storms of the fault suite (`npm run faults` runs the long ones): a tiny pretraining
 * run and a tiny Faster R-CNN fine-tune under the real CLI are each SIGKILLed three times — the worker
 * mid checkpoint write, supervisor and worker together as the database is written, the supervisor
 * alone after a random delay — and resumed each time; each must complete with every metric exactly
 * once, a sound database, no crashed process and the same final weights as an uninterrupted run in
 * another process, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { runKillStorm, type StormTask } from '../../bench/faults/kill-storm';

describe('kill storm', () => {
  it.each<[StormTask, number]>([
    ['pretrain', 8],
    ['finetune', 6],
  ])(
    '%s survives SIGKILLs of the worker, the supervisor and both, with nothing lost or changed',
    async (task, epochs) => {
      const r = await runKillStorm({
        task,
        kills: 3,
        targets: ['worker', 'supervisor+worker', 'supervisor'],
        moments: ['checkpoint-write', 'metrics-flush', 'delay'],
        epochs,
        seed: 1,
      });
      expect(r.kills.map((k) => `${k.target} ${k.moment}`)).toEqual([
        'worker checkpoint-write',
        'supervisor+worker metrics-flush',
        'supervisor delay',
      ]);
      expect(r.status).toBe('completed');
      expect(r.metricsExactlyOnce).toBe(true);
      expect(r.integrity).toEqual(['ok']);
      expect(r.foreignKeyViolations).toBe(0);
      expect(r.crashes).toEqual([]);
      expect(r.differing).toEqual([]);
      expect(r.firstLossDifference).toBeNull();
      expect(r.weightsEqual).toBe(true);
    },
    240_000,
  );
});
