/**
 * Real processes for the fault suite: the `selfemd` CLI started on a studio home, its children found
 * through /proc, SIGKILLs, and read-only looks at the database another process writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SELFEMD = path.join(repoRoot, 'bin/selfemd.mjs');

export interface Cli {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/**
 * `selfemd ARGS` on the studio home `home`, its wasm processes on `threads` threads (a count measured
 * afresh may differ between starts, and with it the GEMM and its rounding).
 */
export function startCli(home: string, args: string[], threads = 1): Cli {
  const child = spawn(process.execPath, [SELFEMD, ...args], {
    cwd: repoRoot,
    env: { ...process.env, SELFEMD_HOME: home, SELFEMD_WASM_THREADS: String(threads) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => out };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false,
  timeoutMs = 240_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(40);
  }
}

/** Read-only queries on a studio database that another process writes (WAL: never blocks it). */
export function query<T>(file: string, sql: string, ...params: unknown[]): T[] {
  if (!fs.existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } catch {
    return []; // not migrated yet
  } finally {
    db.close();
  }
}

/** Live child processes of `pid` (a zombie no longer runs, so it does not count). */
export function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') kids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The last step whose loss the store has committed for a run (0 before the first). */
export function committedStep(db: string, runId: string): number {
  return (
    query<{ s: number | null }>(
      db,
      "SELECT max(step) AS s FROM metrics WHERE run_id = ? AND key = 'loss/total'",
      runId,
    )[0]?.s ?? 0
  );
}
