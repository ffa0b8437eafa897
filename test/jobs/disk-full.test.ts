/**
 * A run whose disk fills up, on a real full file system: a small tmpfs holds the studio home's runs
 * folder (the database stays elsewhere, so every row it should keep can be checked). The run pauses
 * with a message naming the folder and that the disk is full; its last recorded checkpoint still
 * loads; no metric of a recorded step is lost; once space is freed it resumes to completion.
 * Mounting needs root: where `mount -t tmpfs` fails the test is skipped (the same failure is
 * injected at the write seam in test/engine/train/checkpoint-faults.test.ts).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src-main/engine/train/checkpoint';
import { RunManager } from '../../src-main/jobs/run-manager';
import type { RunEvent } from '../../src-main/jobs/run-events';
import type Database from 'better-sqlite3';
import { openStore } from '../../src-main/store';
import { TINY_PRETRAIN, firstEvent } from './tiny-run';
import { tempDir } from '../temp-dir';

let root: string;
let disk: string;
let mounted = false;

// Mounted in beforeAll, not at the top: collecting the file (`vitest list`) must not mount anything.
beforeAll(() => {
  root = tempDir('selfemd-diskfull-');
  disk = path.join(root, 'disk');
  fs.mkdirSync(disk);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', disk], { stdio: 'ignore' });
    mounted = true;
  } catch {
    console.warn('disk-full.test.ts: the tmpfs test skipped: mount -t tmpfs failed (it needs root)');
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', disk]);
});

const freeBytes = (dir: string): number => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('a full disk during training', () => {
  it('pauses the run naming the folder, keeps its checkpoint and rows, and resumes once space is freed', async (ctx) => {
    if (!mounted) return ctx.skip();
    const store = openStore(path.join(root, 'studio.db'));
    const manager = new RunManager(store, { home: disk, heartbeatMs: 0 });
    const events: RunEvent[] = [];
    manager.on((e) => events.push(e));
    const filler = path.join(disk, 'filler.bin');
    try {
      const run = manager.startPretrain(TINY_PRETRAIN, { name: 'fills the disk' });
      // After the second checkpoint is recorded, leave less room than one more checkpoint needs.
      await firstEvent<RunEvent>(
        (l) => manager.on(l),
        (e) => e.type === 'checkpoint' && e.runId === run.id && e.checkpoint.step >= 2,
        (e) => {
          const bytes = e.type === 'checkpoint' ? e.checkpoint.bytes : 0;
          try {
            fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(disk) - bytes / 2)));
          } catch {
            // ENOSPC while filling: the disk is full all the same.
          }
        },
      );
      const paused = await manager.wait(run.id);
      expect(paused.status).toBe('paused');
      const ckptRoot = path.join(disk, 'runs', run.id, 'checkpoints');
      expect(paused.error).toMatch(
        new RegExp(
          `^the disk is full: could not write \\d+ bytes in ${ckptRoot}/step-\\d{8}\\.tmp-\\d+ \\(\\d+ bytes free\\)`,
        ),
      );
      expect(events.some((e) => e.type === 'log' && e.message === `paused: ${paused.error}`)).toBe(true);

      // The last recorded checkpoint loads; no half-written folder is left; every step up to it has its metrics.
      const last = store.lastCheckpoint(run.id)!;
      expect(last.step).toBeGreaterThanOrEqual(2);
      expect(loadCheckpoint<{ step: number }>(last.path).state.step).toBe(last.step);
      expect(fs.readdirSync(ckptRoot).filter((n) => n.includes('.tmp-'))).toEqual([]);
      const steps = () => store.getMetrics(run.id, ['loss/total'])[0].points.map((p) => p.step);
      expect(steps().slice(0, last.step)).toEqual(Array.from({ length: last.step }, (_, i) => i + 1));

      // Space is freed: the run resumes from that checkpoint and completes, every step once.
      fs.rmSync(filler);
      manager.resume(run.id);
      const done = await manager.wait(run.id);
      expect(done.status).toBe('completed');
      expect(steps()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      await manager.shutdown();
      store.close();
    }
  });

  it("pauses when the database's disk is full, and loses no metric once space is back", async () => {
    const dir = path.join(root, 'db-full');
    const store = openStore(path.join(dir, 'studio.db'));
    const manager = new RunManager(store, { home: dir, heartbeatMs: 0 });
    const events: RunEvent[] = [];
    manager.on((e) => events.push(e));
    // SQLite's max_page_count gives the answer of a full disk (SQLITE_FULL) on this connection only.
    const db = (store as unknown as { db: Database.Database }).db;
    try {
      const run = manager.startPretrain(TINY_PRETRAIN, { name: 'fills the database disk' });
      await firstEvent<RunEvent>(
        (l) => manager.on(l),
        (e) => e.type === 'checkpoint' && e.runId === run.id && e.checkpoint.step >= 1,
        () => {
          // No page may be added, and the last free ones are taken: the next write that needs a page fails.
          db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 4}`);
          db.exec('CREATE TABLE filler (x BLOB)');
          try {
            for (;;) db.prepare('INSERT INTO filler VALUES (randomblob(2000))').run();
          } catch {
            // SQLITE_FULL: full
          }
        },
      );
      const stopped = await manager.wait(run.id);
      const message = `pausing: the disk is full in ${dir} (the database); free some space there, then resume`;
      expect(events.some((e) => e.type === 'log' && e.runId === run.id && e.message === message)).toBe(true);
      const last = store.lastCheckpoint(run.id)!;
      expect(loadCheckpoint<{ step: number }>(last.path).state.step).toBe(last.step);

      // Space is freed: what the writer kept is written, and the run (if it stopped early) resumes.
      db.exec('DROP TABLE filler');
      db.pragma('max_page_count = 1073741823');
      // (Where the full page came only near the end, the pause arrives after the last step: completed.)
      if (stopped.status !== 'completed') manager.resume(run.id);
      const done = await manager.wait(run.id);
      expect(done.status).toBe('completed');
      // The writer retries what it kept every 250 ms; nothing was dropped.
      const steps = () => store.getMetrics(run.id, ['loss/total'])[0].points.map((p) => p.step);
      for (let i = 0; i < 50 && steps().length < 8; i++) await new Promise((r) => setTimeout(r, 100));
      expect(steps()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      db.pragma('max_page_count = 1073741823');
      await manager.shutdown();
      store.close();
    }
  });
});
