/**
 * A two-arm smoke study (random, byol; one seed) sent to the local Slurm of scripts/slurm-local.sh as
 * the studio sends one (StudyRunner on the RunManager, `on` a configured cluster): byol's pretraining
 * and both arms' fine-tunes run as Slurm jobs, each run's every metric reaches the store, and the
 * study's result table is filled from the runs' own evaluations (read from the shared folder).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudyResult } from '../../../shared/dto';
import { StudioService } from '../../../src-main/jobs/studio-service';
import { appDir, ensureAppBuilt } from '../../app/built-app';
import { tempHome } from '../../server/fixtures';
import { tinyStudy } from '../tiny-run';
import { localClusterSettings, localSlurm } from './local-slurm';
import { removeTempDir, tempDir } from '../../temp-dir';

let socket: string | null = null;
let home: ReturnType<typeof tempHome>;
let shared: string;
let service: StudioService;

beforeAll(async () => {
  socket = await localSlurm('slurm-study.test.ts (a study on a local Slurm)');
  if (!socket) return;
  ensureAppBuilt();
  home = tempHome('selfemd-slurm-study-');
  // Jobs run as `nobody` (slurmrestd's local auth): they write the shared folder.
  shared = tempDir('selfemd-slurm-study-shared-');
  fs.chmodSync(shared, 0o777);
  service = StudioService.open({
    home: home.dir,
    transport: 'browser',
    version: 'test',
    seedDemos: false,
    // Follow the jobs closely, and let each train on one wasm thread rather than measure a count.
    slurm: { pollMs: 300, env: { SELFEMD_WASM_THREADS: '1' } },
  });
  service.store.saveCluster(
    localClusterSettings(socket, shared, {
      memoryMb: 2000,
      nodeCommand: `${process.execPath} ${path.join(appDir, 'cli.mjs')}`,
    }),
  );
}, 240_000);

afterAll(async () => {
  if (!socket) return;
  await service.close();
  home.cleanup();
  removeTempDir(shared);
});

describe('a study on a local Slurm', () => {
  it('fans a two-arm smoke study out as Slurm jobs; every run complete in the store, the table filled', async (ctx) => {
    if (!socket) return ctx.skip();
    const { store } = service;
    const study = await service.studies.start({ ...tinyStudy(1, 1), on: 'local-slurm' });
    const done = await service.studies.wait(study.id);
    expect(done.error ?? null).toBeNull();
    expect(done.status).toBe('completed');

    const links = store.studyRuns(study.id);
    // byol's pretraining, then each arm's fine-tune (random starts from nothing: no pretraining)
    expect(links.map((l) => `${l.arm}/${l.role}`).sort()).toEqual([
      'byol/finetune',
      'byol/pretrain',
      'random/finetune',
    ]);
    const jobs = new Set<string>();
    for (const link of links) {
      const run = store.getRun(link.runId);
      expect(run.status).toBe('completed');
      const execution = store.getExecution(run.id)!;
      expect(execution).toMatchObject({ executor: 'local-slurm', state: 'COMPLETED' });
      jobs.add(execution.jobId!);
      // Every step's loss, once.
      const loss = store.getMetrics(run.id, ['loss/total'])[0]!.points.map((p) => p.step);
      expect(loss).toEqual(Array.from({ length: run.totalSteps! }, (_, i) => i + 1));
      expect(store.lastCheckpoint(run.id)!.path.startsWith(path.join(shared, 'runs', run.id))).toBe(true);
    }
    expect(jobs.size).toBe(3);
    const seconds = (id: string) => {
      const r = store.getRun(id);
      return ((r.finishedAt! - r.startedAt!) / 1000).toFixed(1);
    };
    console.log(
      `study on Slurm: ${links.map((l) => `${l.arm}/${l.role} ${seconds(l.runId)} s`).join(', ')}; study ${((done.finishedAt! - done.createdAt) / 1000).toFixed(1)} s`,
    );

    // The table's numbers are the fine-tunes' own evaluations (made on the node) and the probes.
    const result = done.result as unknown as StudyResult;
    const ap = result.rows.find((r) => r.metric === 'AP')!;
    for (const arm of ['random', 'byol']) {
      const runId = links.find((l) => l.role === 'finetune' && l.arm === arm)!.runId;
      const coco = store.listEvaluations(runId).find((e) => e.kind === 'coco')!;
      expect(ap.arms.find((a) => a.arm === arm)!.seeds[0]).toBeCloseTo(100 * coco.stats.AP!, 10);
      expect(
        result.rows.find((r) => r.metric === 'probe')!.arms.find((a) => a.arm === arm)!.seeds[0],
      ).toEqual(expect.any(Number));
    }
    expect(fs.readFileSync(result.files.markdown, 'utf8')).toContain('## VOC AP50');
  }, 300_000);
});
