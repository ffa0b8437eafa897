/**
 * Run claims (jobs/run-claim.ts) between supervisors of one home: a live holder is named and kept; a
 * holder that is gone, or whose pid now belongs to another process (its start time differs), is
 * stale and taken over; a training process outliving its supervisor keeps the claim; release leaves
 * another holder's claim alone.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunClaims, RunHeldError, processStartTime } from '../../src-main/jobs/run-claim';
import type { ExperimentStore } from '../../src-main/store';
import { openStore } from '../../src-main/store';
import { tempStoreDir } from '../store/helpers';

let tmp: ReturnType<typeof tempStoreDir>;
let store: ExperimentStore;
const RUN = 'run-1';
const claimFile = () => path.join(tmp.dir, 'claims', `${RUN}.json`);
const writeClaim = (holder: object) => {
  fs.mkdirSync(path.dirname(claimFile()), { recursive: true });
  fs.writeFileSync(claimFile(), JSON.stringify(holder));
};
const claims = () => new RunClaims(tmp.dir, 'selfemd test', (fn) => store.exclusive(fn));

beforeEach(() => {
  tmp = tempStoreDir();
  store = openStore(tmp.file('studio.db'));
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

describe('run claims', () => {
  it('names a live holder, and takes over one that is gone', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    await new Promise((r) => other.once('spawn', r));
    try {
      writeClaim({
        pid: other.pid,
        kind: 'studio (desktop)',
        startedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
        procStart: processStartTime(other.pid!),
      });
      const c = claims();
      expect(() => c.claim(RUN, 'resume')).toThrow(RunHeldError);
      expect(() => c.claim(RUN, 'resume')).toThrow(
        `cannot resume run ${RUN}: studio (desktop) (pid ${other.pid}, started 2026-01-02T03:04:05.000Z) is training it`,
      );
      expect(() => c.refuseIfHeld(RUN, 'delete')).toThrow(/cannot delete run/);
      c.release(RUN); // not ours: left alone
      expect(fs.existsSync(claimFile())).toBe(true);
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    const c = claims();
    c.claim(RUN);
    expect(JSON.parse(fs.readFileSync(claimFile(), 'utf8'))).toMatchObject({
      pid: process.pid,
      kind: 'selfemd test',
    });
    c.release(RUN);
    expect(fs.existsSync(claimFile())).toBe(false);
  });

  it('takes a reused pid for a stale claim when the start time differs', () => {
    if (processStartTime(process.pid) === undefined) return; // no /proc: only the pid to go by
    // A live pid (this process's) with a start time it does not have: another process held it before.
    writeClaim({ pid: process.pid, kind: 'selfemd pretrain', startedAt: 0, procStart: '1' });
    const c = claims();
    expect(c.otherHolder(RUN)).toBeNull();
    c.claim(RUN);
    expect(JSON.parse(fs.readFileSync(claimFile(), 'utf8')).procStart).toBe(processStartTime(process.pid));
  });

  it('keeps the claim while the training process outlives its supervisor', async () => {
    const worker = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    await new Promise((r) => worker.once('spawn', r));
    try {
      writeClaim({ pid: 2 ** 22 + 12345, kind: 'selfemd resume', startedAt: 0, workerPid: worker.pid });
      expect(() => claims().claim(RUN)).toThrow(`training process ${worker.pid}`);
    } finally {
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
    }
    claims().claim(RUN);
  });

  it('treats an unreadable claim as stale', () => {
    writeClaim({});
    fs.writeFileSync(claimFile(), '{"pid": 1, "ki');
    claims().claim(RUN);
    expect(JSON.parse(fs.readFileSync(claimFile(), 'utf8')).pid).toBe(process.pid);
  });
});
