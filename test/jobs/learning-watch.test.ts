/**
 * The supervisor says once in a run's log when its loss has not fallen after a quarter of its steps:
 * a RunManager driven by a scripted worker (no training process), so the reports are exactly known.
 */
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LearningWatch } from '../../src-main/jobs/learning-watch';
import type { WorkerMessage } from '../../src-main/jobs/protocol';
import type { RunEvent } from '../../src-main/jobs/run-events';
import { RunManager } from '../../src-main/jobs/run-manager';
import type { WorkerHandle } from '../../src-main/jobs/worker-process';
import { openStore, type ExperimentStore } from '../../src-main/store';
import { removeTempDir, tempDir } from '../temp-dir';

/** A worker that does nothing on its own: the test sends its reports. */
function scriptedWorker(): { handle: WorkerHandle; say(m: WorkerMessage): void } {
  const listeners: ((m: WorkerMessage) => void)[] = [];
  const handle: WorkerHandle = {
    pid: undefined,
    send: () => undefined,
    onMessage: (l) => listeners.push(l),
    onExit: () => undefined,
    kill: () => undefined,
  };
  return { handle, say: (m) => listeners.forEach((l) => l(m)) };
}

/** Reports step `step` of `total` with loss `loss`, as the training loop does (metrics, then progress). */
function step(say: (m: WorkerMessage) => void, step: number, total: number, loss: number): void {
  say({ type: 'metrics', points: [{ key: 'loss/total', step, value: loss, wallTime: 0 }] });
  say({
    type: 'progress',
    progress: { step, totalSteps: total, epoch: 1, stepsPerEpoch: total, secondsPerStep: 0.1, etaSeconds: 1 },
  });
}

let home: string;
let store: ExperimentStore;

beforeEach(() => {
  home = tempDir('selfemd-learning-');
  store = openStore(path.join(home, 'studio.db'));
});
afterEach(() => {
  store.close();
  removeTempDir(home);
});

function managerWithScriptedWorker() {
  const worker = scriptedWorker();
  const manager = new RunManager(store, { home, spawner: () => worker.handle, heartbeatMs: 0 });
  const logs: { runId: string; message: string }[] = [];
  manager.on((e: RunEvent) => e.type === 'log' && logs.push(e));
  return { manager, say: worker.say, logs };
}

describe('the supervisor’s learning watch', () => {
  it('logs one line when a flat fine-tune passes a quarter of its steps, none before', () => {
    const { manager, say, logs } = managerWithScriptedWorker();
    const run = manager.startFinetune({ detector: 'retinanet', backend: 'wasm' });
    const wobble = (s: number) => 1.5 + 0.05 * Math.sin(s * 2.1);
    for (let s = 1; s < 25; s++) step(say, s, 100, wobble(s));
    expect(logs.filter((l) => /not learning/.test(l.message))).toEqual([]);
    for (let s = 25; s <= 60; s++) step(say, s, 100, wobble(s));
    const lines = logs.filter((l) => /not learning/.test(l.message));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.runId).toBe(run.id);
    expect(lines[0]!.message).toMatch(
      /^step 25: not learning: the loss has not fallen 10 % after 25 % of the steps \(median [+−]\d+ %, steps 1–5 → 21–25\) — check the learning rate/,
    );
  });

  it('says nothing for a pretraining whose loss falls', () => {
    const { manager, say, logs } = managerWithScriptedWorker();
    manager.startPretrain({ backend: 'wasm' });
    for (let s = 1; s <= 100; s++) step(say, s, 100, 4 * Math.exp(-s / 30) + 1.7);
    expect(logs.filter((l) => /not learning/.test(l.message))).toEqual([]);
  });
});

describe('LearningWatch', () => {
  const flat = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ({ key: 'loss/total', step: from + i, value: 1 }));

  it('judges a resumed run on its recorded history, and does not repeat a verdict given before', () => {
    const watch = new LearningWatch();
    // Resumed at step 20 of 100 with a flat history: judged at step 25 on all of it.
    watch.start('a', flat(1, 20), 100);
    watch.add('a', flat(21, 25));
    expect(watch.check('a', 25, 100)).toMatch(/^step 25: not learning/);
    // Resumed past the judgement point, already not learning: the previous supervisor said it.
    watch.start('b', flat(1, 40), 100);
    watch.add('b', flat(41, 50));
    expect(watch.check('b', 50, 100)).toBeNull();
  });

  it('replaces the steps a resumed run trains again, and only watches the total loss', () => {
    const watch = new LearningWatch();
    const falling = Array.from({ length: 30 }, (_, i) => ({ step: i + 1, value: 2 - i / 30 }));
    watch.start('a', falling, 100);
    // Steps 21–30 again, now flat at the first level: the loss has not fallen after all.
    watch.add(
      'a',
      flat(21, 30).map((p) => ({ ...p, value: 2 })),
    );
    watch.add('a', [{ key: 'loss/loss_cls', step: 30, value: 0.01 }]);
    expect(watch.check('a', 30, 100)).toMatch(/not learning/);
  });
});
