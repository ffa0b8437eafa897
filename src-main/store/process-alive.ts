import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists. Signal 0 checks without sending anything: ESRCH means gone,
 * EPERM means it exists but belongs to someone else (still alive). A reused pid reads as alive, which is
 * why markInterruptedRuns also looks at the heartbeat. On Linux a killed child that its parent has not
 * reaped yet (a zombie, state Z in /proc/<pid>/stat) still answers signal 0: it counts as dead.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Format: "pid (comm) S ...": the command may contain spaces or parentheses, so read after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no /proc (macOS, Windows): signal 0 is all we have
  }
}
