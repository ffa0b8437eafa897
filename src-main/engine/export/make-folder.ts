/**
 * Creates a folder the user named (an export destination, a run folder), one level at a time.
 * Why not `mkdirSync(dir, { recursive: true })`: on Node 20 it never returns for some places that
 * cannot hold a folder (under /proc it loops at 100 % CPU, seen here), which froze the studio server
 * that called it. Level by level, each failure is an error naming the folder and the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function makeFolder(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let at = target;
  while (!fs.existsSync(at)) {
    missing.push(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  if (fs.existsSync(at) && !fs.statSync(at).isDirectory())
    throw new Error(`cannot create the folder ${target}: ${at} is a file`);
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST' && fs.statSync(d).isDirectory()) continue; // made meanwhile
      throw new Error(`cannot create the folder ${d}: ${err.code ?? err.message}`);
    }
  }
}
