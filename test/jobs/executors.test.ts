/**
 * Executors resolve a run's `on` from the cluster settings as they are at each submission: an edit
 * reaches the next run sent there, a removal stops sending there; an unchanged cluster keeps its executor.
 */
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SlurmClusterSettings } from '../../shared/dto/clusters';
import { Executors } from '../../src-main/jobs/executors';
import { openStore } from '../../src-main/store';
import { localClusterSettings } from './slurm/local-slurm';
import { removeTempDir, tempDir } from '../temp-dir';

const home = tempDir('selfemd-executors-');
const store = openStore(path.join(home, 'studio.db'));
afterAll(() => {
  store.close();
  removeTempDir(home);
});

describe('Executors', () => {
  it('reads a cluster’s settings at each resolution: edits take effect, a removal refuses', () => {
    store.saveCluster(localClusterSettings('/tmp/none.socket', '/shared/a', { name: 'lab' }));
    const lookup = (name: string): SlurmClusterSettings => store.clusterSettings(name);
    const executors = new Executors(
      () => {
        throw new Error('no local runs here');
      },
      lookup,
      { store },
    );
    const first = executors.get('lab');
    expect(first.runDir('r1', '/home/x')).toBe('/shared/a/runs/r1');
    // Unchanged: the same executor.
    expect(executors.get('lab')).toBe(first);
    // Edited (the shared folder moved): the next submission goes by the new settings.
    store.saveCluster(localClusterSettings('/tmp/none.socket', '/shared/b', { name: 'lab' }));
    const edited = executors.get('lab');
    expect(edited).not.toBe(first);
    expect(edited.runDir('r1', '/home/x')).toBe('/shared/b/runs/r1');
    // Removed: nothing more is sent there.
    store.removeCluster('lab');
    expect(() => executors.get('lab')).toThrow(/no cluster named "lab"/);
    expect(executors.get('local').name).toBe('local');
  });
});
