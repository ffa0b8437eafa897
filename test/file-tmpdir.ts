/**
 * Runs before every test file (vitest `setupFiles`): the file gets a temp folder of its own under the
 * run's private root (test/global-setup.ts), as TMPDIR, so os.tmpdir() in the test and in every
 * process it starts points there. After the file's own afterAll hooks:
 * - the folders tempDir made are removed (test/temp-dir.ts);
 * - the file fails if anything else is left in its folder, naming it, or if a process it started
 *   (one that inherited its TMPDIR) is still alive after a grace period; those are then killed;
 * - the folder is removed.
 * Other people's processes writing /tmp at the same time cannot make a file fail: only the file's
 * own folder is looked at.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { leftovers, removeTempDirs, SHARED_CACHES } from './temp-dir';

/** How long a process the file started may take to exit after the file's afterAll hooks. */
const EXIT_GRACE_MS = 15_000;

const root = inject('testTmpRoot');
const file = path.relative(process.cwd(), expect.getState().testPath ?? `pid-${process.pid}`);
// Short: programs put unix sockets in TMPDIR (Chromium's SingletonSocket), and their paths must fit
// in 107 bytes.
const dir = path.join(
  root,
  `${path
    .basename(file)
    .replace(/\.test\.ts$/, '')
    .slice(0, 16)}-${process.pid}`,
);
fs.mkdirSync(dir);
for (const cache of SHARED_CACHES)
  fs.symlinkSync(path.join(path.dirname(root), cache), path.join(dir, cache));
process.env.TMPDIR = dir;

afterAll(async () => {
  removeTempDirs();
  const alive = await outlivingProcesses(dir);
  for (const p of alive) killQuietly(p.pid);
  const left = leftovers(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  const problems = [
    ...left.map((name) => `left in the temp folder: ${name} (make it with tempDir from test/temp-dir.ts)`),
    ...alive.map((p) => `still running after the file ended (killed now): pid ${p.pid} ${p.command}`),
  ];
  if (problems.length > 0) throw new Error(`${file} did not clean up after itself:\n${problems.join('\n')}`);
}, EXIT_GRACE_MS + 30_000);

interface Proc {
  pid: number;
  command: string;
}

/** Processes other than this one whose environment has TMPDIR=dir, once they have had EXIT_GRACE_MS to exit. */
async function outlivingProcesses(tmp: string): Promise<Proc[]> {
  const deadline = Date.now() + EXIT_GRACE_MS;
  for (;;) {
    const found = processesWithTmpdir(tmp);
    if (found.length === 0 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function processesWithTmpdir(tmp: string): Proc[] {
  if (!fs.existsSync('/proc/self/environ')) return []; // not Linux: no check
  const marker = `\0TMPDIR=${tmp}\0`;
  const found: Proc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!`\0${fs.readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(marker)) continue;
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (command) found.push({ pid, command: command.slice(0, 200) }); // empty: a zombie, already exited
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return found;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
