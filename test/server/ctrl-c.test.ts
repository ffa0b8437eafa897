/**
 * Ctrl-C of browser mode: the terminal sends SIGINT to the whole process group, the server and its
 * training processes alike. The server pauses its live runs (each checkpoints and stops) and says so;
 * the runs are then `paused` with no error, not `interrupted` by a killed process, and resume.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunDetails } from '../../shared/api/types';
import type { DatasetRecord, RunRecord } from '../../shared/dto';
import { openStore } from '../../src-main/store';
import { startServer, type ServerProcess } from '../e2e/harness';
import { removeTempDir, tempDir } from '../temp-dir';

const tmp = tempDir('selfemd-ctrl-c-');
let server: ServerProcess | undefined;
afterAll(async () => {
  await server?.stop('SIGKILL');
  removeTempDir(tmp);
});

describe('browser mode and Ctrl-C', () => {
  it('pauses the live runs: status paused, no "killed (SIGINT)"', async () => {
    const home = path.join(tmp, 'home');
    server = await startServer(home, { ownGroup: true });
    const datasets = await server.call<DatasetRecord[]>('datasets.list');
    const train = datasets.find((d) => d.kind === 'demo' && d.split === 'train')!;
    const run = await server.call<RunRecord>('runs.start', {
      method: 'byol',
      datasetId: train.id,
      name: 'ctrl-c',
      config: {
        backend: 'wasm',
        backbone: { baseWidth: 4 },
        data: { imageSize: 64 },
        byol: { projectorHidden: 32, projectionDim: 16, predictorHidden: 32 },
        optim: { epochs: 100, batchSize: 8 },
        checkpoint: { everySteps: 1 },
      },
    });
    // training: wait for its first steps
    for (let t = 0; ; t++) {
      const { run: r } = await server.call<RunDetails>('runs.get', { id: run.id });
      if (r.step >= 2) break;
      if (t > 600) throw new Error(`the run did not train: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    process.kill(-server.child.pid!, 'SIGINT');
    expect(await server.stop('SIGINT')).toBe(0);
    expect(server.output()).toContain('SIGINT: pausing live runs and closing');
    const store = openStore(path.join(home, 'studio.db'));
    try {
      const after = store.getRun(run.id);
      expect([after.status, after.error]).toEqual(['paused', null]);
      expect(after.step).toBeGreaterThanOrEqual(2);
    } finally {
      store.close();
    }
  });
});
