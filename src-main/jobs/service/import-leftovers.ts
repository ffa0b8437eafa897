/**
 * What a killed import (or a dataset deletion cut short) leaves in `<home>/datasets`, cleared when a
 * studio starts. An import writes its files into a hidden staging folder `.importing-<pid>-<n>`,
 * records the dataset, then renames the folder to the dataset's id (dataset-index.ts); a kill before
 * the rename leaves the staging folder, and a kill inside a write leaves a `<file>.tmp-<pid>`. A
 * deletion removes the row, then the folder; a kill between leaves a folder no row names. Each of
 * these holds only space (nothing reads it), so it is removed; a complete dataset (its row, its
 * folder and the files in it) is never touched, nor anything of a process still alive (another
 * studio or CLI importing into the same home right now).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive } from '../../store/process-alive';

export interface ImportLeftovers {
  /** Paths removed. */
  removed: string[];
  /** Staging folders left alone: their process is alive (it may be importing now). */
  kept: string[];
}

const STAGING = /^\.importing-(\d+)-\d+$/;
const TEMP_FILE = /\.tmp-(\d+)$/;

/** A leftover of a dead process: `pid` neither this process nor a live one. */
const deadPid = (pid: string, isAlive: (pid: number) => boolean): boolean =>
  Number(pid) !== process.pid && !isAlive(Number(pid));

/**
 * Removes the leftovers of killed imports and deletions from `<home>/datasets`. `isRecorded` asks the
 * store whether a dataset id has its row, after the folder was seen: an import records its row before
 * its folder appears, so one that finishes meanwhile in another process is seen as recorded.
 */
export function clearImportLeftovers(
  home: string,
  isRecorded: (id: number) => boolean,
  isAlive: (pid: number) => boolean = isProcessAlive,
): ImportLeftovers {
  const root = path.join(home, 'datasets');
  const out: ImportLeftovers = { removed: [], kept: [] };
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return out; // no datasets folder yet
  }
  const remove = (p: string) => {
    fs.rmSync(p, { recursive: true, force: true });
    out.removed.push(p);
  };
  for (const e of entries) {
    const p = path.join(root, e.name);
    const staging = STAGING.exec(e.name);
    if (staging && e.isDirectory()) {
      if (deadPid(staging[1]!, isAlive)) remove(p);
      else out.kept.push(p);
    } else if (/^\d+$/.test(e.name) && e.isDirectory()) {
      if (!isRecorded(Number(e.name))) remove(p);
      else
        for (const f of fs.readdirSync(p)) {
          const temp = TEMP_FILE.exec(f);
          if (temp && deadPid(temp[1]!, isAlive)) remove(path.join(p, f));
        }
    }
  }
  return out;
}
