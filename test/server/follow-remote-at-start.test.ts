/**
 * A studio that starts while a run of its home executes on a cluster takes the run's job up again
 * (RunManager.followRemoteRuns) instead of leaving its curves frozen until someone resumes it. Here
 * the cluster's settings are gone, so following fails: the run is not marked interrupted behind the
 * user's back, and its log says why it is not followed — proof that the start tried.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readRunLog } from '../../src-main/jobs/service/run-log';
import { StudioService } from '../../src-main/jobs/studio-service';
import { tempHome } from './fixtures';

let home: ReturnType<typeof tempHome>;
beforeAll(() => {
  home = tempHome();
});
afterAll(() => home.cleanup());

const open = () =>
  StudioService.open({ home: home.dir, transport: 'browser', version: 'test', seedDemos: false });

it('follows a run left executing on a cluster again when the studio starts', async () => {
  const first = open();
  const run = first.store.createRun({
    kind: 'pretrain',
    name: 'on a cluster',
    method: 'byol',
    backbone: 'resnet18',
    config: {},
  });
  first.store.beginExecution(run.id, 'gone-cluster', path.join(home.dir, 'events.jsonl'));
  first.store.updateExecution(run.id, { jobId: '77', state: 'RUNNING' });
  first.store.updateRunStatus(run.id, 'running', { pid: null });
  await first.close();

  const second = open();
  try {
    expect(second.store.getRun(run.id).status).toBe('running');
    const log = readRunLog(second.manager.runDir(run.id)).map((l) => l.message);
    expect(log.some((m) => m.startsWith('cannot follow its job:') && m.includes('gone-cluster'))).toBe(true);
  } finally {
    await second.close();
  }
});
