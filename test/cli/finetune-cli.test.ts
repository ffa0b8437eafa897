/**
 * `selfemd finetune` trains in an engine process under the RunManager and records its run as it
 * trains, like a studio run: killed mid-run, the store keeps
 * every step up to the last recorded checkpoint, and `--resume` continues from that checkpoint (not a
 * newer one on disk the store never heard of) to a complete history and an evaluation.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finetuneSizeOverrides } from '../../shared/config/finetune';
import { RunManager } from '../../src-main/jobs/run-manager';
import { openStore } from '../../src-main/store';
import { tempDir } from '../temp-dir';

const BIN = path.resolve(__dirname, '../../bin/selfemd.mjs');
const NAME = 'ft-cli';
let home: string;

/** Sizes a CPU trains in seconds: 8 train / 4 val demo scenes at 64 px, 2 steps per epoch. */
const TINY = {
  detector: 'retinanet',
  backend: 'wasm',
  init: { kind: 'random' },
  backbone: { name: 'resnet18', baseWidth: 8 },
  data: { demoTrain: 8, demoVal: 4, demoSize: 64, ...finetuneSizeOverrides(64) },
  fpn: { channels: 8 },
  retinanet: { numConvs: 1 },
  optim: { epochs: 4, batchSize: 4, lr: 0.01 },
  checkpoint: { everySteps: 1 },
};
const STEPS = 8;

/**
 * Runs the CLI as a terminal job (its own process group). `until` may kill it (SIGKILL, the CLI
 * only) or press Ctrl-C (SIGINT to the whole group, its training process included, as a terminal does).
 */
function selfemd(args: string[], until?: (ctl: { kill: () => void; ctrlC: () => void }) => void) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SELFEMD_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  until?.({ kill: () => child.kill('SIGKILL'), ctrlC: () => process.kill(-child.pid!, 'SIGINT') });
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })),
  );
}

/** Calls `then` once the run called `name` has a recorded checkpoint of at least `step`. */
function whenCheckpoint(name: string, step: number, then: () => void): void {
  const timer = setInterval(() => {
    if (!fs.existsSync(path.join(home, 'studio.db'))) return;
    if (look((s, id) => (id ? (s.lastCheckpoint(id)?.step ?? 0) : 0), name) >= step) {
      clearInterval(timer);
      then();
    }
  }, 100);
}

/** The store as the CLI left it (opened per look: the CLI process writes it meanwhile). */
function look<T>(f: (store: ReturnType<typeof openStore>, runId: string | undefined) => T, name = NAME): T {
  const store = openStore(path.join(home, 'studio.db'));
  try {
    return f(store, store.listRuns({ kind: 'finetune' }).find((r) => r.name === name)?.id);
  } finally {
    store.close();
  }
}

/** Resolves once process `pid` has exited. */
async function gone(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a CLI fine-tune called `name` and kills it once the store has its checkpoint of step 2.
 * Resolves once its training process (the run's pid), left without a supervisor, has written one
 * more checkpoint the store never hears of and stopped (engine-worker.ts).
 */
async function startAndKill(name: string) {
  const killed = await selfemd(
    ['finetune', '--config', path.join(home, 'tiny.json'), '--name', name],
    ({ kill }) => whenCheckpoint(name, 2, kill),
  );
  const pid = look((s, id) => s.getRun(id!).pid, name);
  expect(pid).toBeGreaterThan(0);
  expect(pid).not.toBe(process.pid);
  await gone(pid!);
  return killed;
}

beforeAll(() => {
  home = tempDir('selfemd-ft-cli-');
  fs.writeFileSync(path.join(home, 'tiny.json'), JSON.stringify(TINY));
});

describe('selfemd finetune', () => {
  it('killed after two recorded checkpoints, keeps its history and resumes to a complete one', async () => {
    const killed = await startAndKill(NAME);
    expect(killed.signal, killed.err).toBe('SIGKILL');

    const recorded = look((s, id) => {
      const last = s.lastCheckpoint(id!)!;
      const steps = s.getMetrics(id!, ['loss/total'])[0]!.points.map((p) => p.step);
      const run = s.getRun(id!);
      return { last: last.step, dir: path.dirname(last.path), steps, status: run.status, run };
    });
    expect(recorded.last).toBeGreaterThanOrEqual(2);
    expect(recorded.last).toBeLessThan(STEPS);
    expect(recorded.status).toBe('running'); // the studio shows it as interrupted once the pid is gone
    // It said it was alive while it trained (a silent run is taken as interrupted after a minute).
    expect(recorded.run.heartbeatAt).not.toBeNull();
    expect(recorded.run.totalSteps).toBe(STEPS);
    // Every step up to the recorded checkpoint is stored (later ones may be too: they are repeated).
    expect(recorded.steps.slice(0, recorded.last)).toEqual(
      Array.from({ length: recorded.last }, (_, i) => i + 1),
    );

    // A checkpoint written after the last one recorded (killed between the two): not resumed from.
    const name = (step: number) => `step-${String(step).padStart(8, '0')}`;
    const newer = path.join(recorded.dir, name(recorded.last + 1));
    fs.rmSync(newer, { recursive: true, force: true });
    fs.cpSync(path.join(recorded.dir, name(recorded.last)), newer, { recursive: true });
    const manifest = path.join(newer, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { state: { step: number } };
    m.state.step = recorded.last + 1;
    fs.writeFileSync(manifest, JSON.stringify(m));

    const resumed = await selfemd(['finetune', '--resume', '--name', NAME]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`resumed from step ${recorded.last} `);
    expect(resumed.out).toContain(`completed at step ${STEPS}/${STEPS}`);
    const after = look((s, id) => ({
      runs: s.listRuns({ kind: 'finetune' }).length,
      run: s.getRun(id!),
      steps: s.getMetrics(id!, ['loss/total'])[0]!.points.map((p) => p.step),
      checkpoints: s.listCheckpoints(id!).map((c) => c.step),
      evaluations: s.listEvaluations(id!).map((e) => [e.kind, e.checkpointStep]),
    }));
    expect(after.runs).toBe(1);
    expect(after.run).toMatchObject({ status: 'completed', step: STEPS, totalSteps: STEPS, pid: null });
    expect(after.steps).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(after.checkpoints.at(-1)).toBe(STEPS);
    expect(after.evaluations).toContainEqual(['coco', STEPS]);
    expect(after.evaluations).toContainEqual(['voc', STEPS]);
  }, 240_000);

  it('Ctrl-C pauses it at a checkpoint', async () => {
    const name = 'ft-cli-ctrl-c';
    const r = await selfemd(
      ['finetune', '--config', path.join(home, 'tiny.json'), '--name', name],
      ({ ctrlC }) => whenCheckpoint(name, 1, ctrlC),
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('pausing at a checkpoint');
    const run = look((s, id) => ({ run: s.getRun(id!), last: s.lastCheckpoint(id!)!.step }), name);
    // Paused, not killed: its training process got the signal too, and left the stopping to the CLI.
    expect(run.run).toMatchObject({ status: 'paused', pid: null, error: null });
    expect(run.last).toBe(run.run.step);
    expect(run.last).toBeLessThan(STEPS);
    expect(r.out).toContain(`paused at step ${run.last}/${STEPS}`);
  }, 240_000);

  it('killed, is shown interrupted in the studio and resumes there, in its own folder', async () => {
    const name = 'ft-cli-studio';
    expect((await startAndKill(name)).signal).toBe('SIGKILL');
    const store = openStore(path.join(home, 'studio.db'));
    const manager = new RunManager(store, { home });
    try {
      const id = store.listRuns({ kind: 'finetune' }).find((r) => r.name === name)!.id;
      expect(store.getRun(id).status).toBe('interrupted');
      expect(store.lastCheckpoint(id)!.step).toBeLessThan(STEPS);
      manager.resume(id);
      const done = await manager.wait(id);
      expect(done).toMatchObject({ status: 'completed', step: STEPS });
      expect(store.getMetrics(id, ['loss/total'])[0]!.points.map((p) => p.step)).toEqual(
        Array.from({ length: STEPS }, (_, i) => i + 1),
      );
      // In the CLI's folder (<home>/runs/<name>), not <home>/runs/<id>.
      expect(store.lastCheckpoint(id)!.path).toBe(
        path.join(home, 'runs', name, 'checkpoints', 'step-00000008'),
      );
    } finally {
      await manager.shutdown();
      store.close();
    }
  }, 240_000);
});
