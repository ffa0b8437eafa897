/**
 * Whether a process with this pid exists. Signal 0 checks without sending anything: ESRCH means gone,
 * EPERM means it exists but belongs to someone else (still alive). A reused pid reads as alive, which is
 * why markInterruptedRuns also looks at the heartbeat.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
