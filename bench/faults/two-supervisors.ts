/**
 * Two supervisors, one SELFEMD_HOME, with real processes: a `selfemd pretrain` trains a run while a
 * second `selfemd resume` of that run and a browser-mode studio opened on the same home try to resume,
 * pause, cancel and delete it; then the pretraining's supervisor is SIGKILLed while its training
 * process is held stopped (SIGSTOP), so the orphan is still alive when a third supervisor asks to
 * resume; then, the orphan gone, two `selfemd resume` race for the stale claim. It checks that every
 * refusal names the holder (pid, what it is, when it started), that exactly one racer trains, and
 * that the run completes with every step's metrics exactly once and a sound database.
 * Used by `npm run faults` (bench/faults.ts) and test/jobs/two-supervisors.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StudioService } from '../../src-main/jobs/studio-service';
import { TINY_PRETRAIN } from '../../test/jobs/tiny-run';
import { fileHealth } from '../../test/store/helpers';
import { childrenOf, committedStep, kill, query, running, startCli, waitFor } from './processes';

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export interface TwoSupervisorsResult {
  checks: Check[];
  seconds: number;
}

export async function runTwoSupervisors(opts: { epochs: number }): Promise<TwoSupervisorsResult> {
  const t0 = performance.now();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-two-supervisors-'));
  const db = path.join(home, 'studio.db');
  const checks: Check[] = [];
  const check = (what: string, ok: boolean, detail: string) => checks.push({ what, ok, detail });
  const configFile = path.join(home, 'tiny.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({ ...TINY_PRETRAIN, optim: { ...TINY_PRETRAIN.optim, epochs: opts.epochs } }),
  );
  try {
    const a = startCli(home, ['pretrain', '--config', configFile, '--data', 'demo', '--name', 'shared']);
    const runId = await waitFor(
      'the run to be recorded',
      () => query<{ id: string }>(db, 'SELECT id FROM runs')[0]?.id,
    );
    const committed = () => committedStep(db, runId);
    await waitFor('step 2 of the first supervisor', () => committed() >= 2 || a.child.exitCode !== null);
    const holderA = new RegExp(`selfemd pretrain \\(pid ${a.child.pid}, started \\d{4}-`);

    // A second CLI on the run.
    const b = startCli(home, ['resume', runId]);
    const bExit = await b.exited;
    check(
      'a second CLI resume is refused, naming the holder',
      bExit.code === 2 && holderA.test(b.output()),
      `exit ${bExit.code}: ${b.output().trim().split('\n').at(-1)}`,
    );

    // A browser-mode studio on the same home.
    const studio = StudioService.open({ home, transport: 'browser', version: 'faults', seedDemos: false });
    try {
      const details = await studio.handle('runs.get', { id: runId });
      const status = details.ok ? (details.value as { run: { status: string } }).run.status : '?';
      check('a studio opening on the home leaves the run running', status === 'running', `status ${status}`);
      for (const method of ['runs.resume', 'runs.pause', 'runs.cancel', 'runs.delete'] as const) {
        const r = await studio.handle(method, { id: runId });
        const error = r.ok ? null : r.error;
        check(
          `the studio's ${method} is refused, naming the holder`,
          error?.code === 'conflict' && holderA.test(error.message),
          error ? `${error.code}: ${error.message}` : 'accepted',
        );
      }
    } finally {
      await studio.close();
    }
    check(
      'the first supervisor trained on meanwhile',
      a.child.exitCode === null,
      `step ${committed()} committed`,
    );

    // The supervisor killed, its training process alive (stopped): the run is still held.
    const workers = childrenOf(a.child.pid!);
    workers.forEach((w) => process.kill(w, 'SIGSTOP'));
    kill(a.child.pid!);
    await a.exited;
    const c = startCli(home, ['resume', runId]);
    const cExit = await c.exited;
    check(
      'while the orphaned training process lives, a resume is refused',
      cExit.code === 2 && new RegExp(`training process ${workers[0]}`).test(c.output()),
      `exit ${cExit.code}: ${c.output().trim().split('\n').at(-1)}`,
    );
    workers.forEach((w) => process.kill(w, 'SIGCONT'));
    await waitFor('the orphan to checkpoint and stop', () => workers.every((w) => !running(w)));

    // Two supervisors race for the stale claim.
    const racers = [startCli(home, ['resume', runId]), startCli(home, ['resume', runId])];
    const exits = await Promise.all(racers.map((r) => r.exited));
    const winners = exits.filter((e) => e.code === 0).length;
    const loser = racers.find((_, i) => exits[i]!.code !== 0);
    check(
      'two resumes at once: one trains, the other is refused naming it',
      winners === 1 && !!loser && /selfemd resume \(pid \d+, started /.test(loser.output()),
      `exits ${exits.map((e) => e.code).join(', ')}; ${loser?.output().trim().split('\n').at(-1) ?? ''}`,
    );

    const [run] = query<{ status: string; total_steps: number }>(
      db,
      'SELECT status, total_steps FROM runs WHERE id = ?',
      runId,
    );
    const steps = query<{ step: number; n: number }>(
      db,
      "SELECT step, count(*) AS n FROM metrics WHERE run_id = ? AND key = 'loss/total' GROUP BY step ORDER BY step",
      runId,
    );
    const exactlyOnce =
      steps.length === run!.total_steps && steps.every((s, i) => s.step === i + 1 && s.n === 1);
    check('the run completes', run!.status === 'completed', run!.status);
    check(
      'every step’s loss recorded exactly once',
      exactlyOnce,
      `${steps.length} steps of ${run!.total_steps}, ${steps.filter((s) => s.n > 1).length} duplicated`,
    );
    const health = fileHealth(db);
    check(
      'PRAGMA integrity_check, foreign keys',
      health.integrity.join() === 'ok' && health.foreignKeyViolations === 0,
      `${health.integrity.join('; ')}, ${health.foreignKeyViolations} fk violation(s)`,
    );
    const claims = fs.existsSync(path.join(home, 'claims')) ? fs.readdirSync(path.join(home, 'claims')) : [];
    check('no claim left behind', claims.length === 0, claims.join(', ') || 'none');
    return { checks, seconds: (performance.now() - t0) / 1000 };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}
