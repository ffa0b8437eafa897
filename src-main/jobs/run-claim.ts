/**
 * Which supervisor trains a run, when several share one SELFEMD_HOME (a desktop studio, a browser-mode
 * server, `selfemd` commands). Each run that trains has a claim file, `<home>/claims/<run id>.json`,
 * naming its holder: the supervisor (pid, what it is, when it started) and its training process. A
 * supervisor claims a run before it starts or resumes it and releases it when the training process
 * has ended; another supervisor asking to resume, pause, cancel or delete that run while the holder
 * (or its training process, which outlives a killed supervisor by one checkpoint) still runs is
 * refused with the holder's name. A claim whose holder is gone (killed, crashed) is stale and is taken
 * over. Claims are read and written inside the store's write lock (an immediate transaction), so two
 * supervisors racing for one run are served one after the other: exactly one gets it. The OS releases
 * that lock when a process dies, so a kill never leaves it held.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive } from '../store/process-alive';

/** Who holds a run. */
export interface RunHolder {
  /** The supervisor's pid. */
  pid: number;
  /** What the supervisor is, in words: `studio (desktop)`, `studio (browser mode)`, `selfemd resume`. */
  kind: string;
  /** When the supervisor started (epoch ms). */
  startedAt: number;
  /** The supervisor's start time as the kernel counts it (Linux), so a reused pid is not taken for it. */
  procStart?: string;
  /** The training process, once started. */
  workerPid?: number | null;
}

export class RunHeldError extends Error {
  constructor(
    readonly runId: string,
    readonly holder: RunHolder,
    what: string,
  ) {
    super(`cannot ${what} run ${runId}: ${describeHolder(holder)} is training it`);
    this.name = 'RunHeldError';
  }
}

export function describeHolder(h: RunHolder): string {
  const worker = h.workerPid ? `, training process ${h.workerPid}` : '';
  return `${h.kind} (pid ${h.pid}, started ${new Date(h.startedAt).toISOString()}${worker})`;
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat); undefined without /proc. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the holder, or its training process, still runs. */
export function holderAlive(h: RunHolder): boolean {
  const supervisor =
    isProcessAlive(h.pid) && (h.procStart === undefined || processStartTime(h.pid) === h.procStart);
  return supervisor || (!!h.workerPid && isProcessAlive(h.workerPid));
}

export class RunClaims {
  readonly self: RunHolder;
  private readonly dir: string;

  /**
   * @param exclusive runs a function holding the store's write lock (ExperimentStore.exclusive):
   * the one lock every supervisor of this home takes.
   */
  constructor(
    home: string,
    kind: string,
    private readonly exclusive: <T>(fn: () => T) => T,
  ) {
    this.dir = path.join(home, 'claims');
    this.self = {
      pid: process.pid,
      kind,
      startedAt: Date.now() - Math.round(process.uptime() * 1000),
      procStart: processStartTime(process.pid),
    };
  }

  /** Claims the run for this supervisor; throws RunHeldError naming a live other holder. */
  claim(runId: string, what = 'train'): void {
    this.exclusive(() => {
      const other = this.otherHolder(runId);
      if (other) throw new RunHeldError(runId, other, what);
      this.write(runId, { ...this.self, workerPid: null });
    });
  }

  /** Records the training process of a run this supervisor holds. */
  setWorker(runId: string, workerPid: number | undefined): void {
    this.exclusive(() => this.write(runId, { ...this.self, workerPid: workerPid ?? null }));
  }

  /** Gives a run up (its training process has ended). Leaves another holder's claim alone. */
  release(runId: string): void {
    this.exclusive(() => {
      const h = this.read(runId);
      if (h && this.isSelf(h)) fs.rmSync(this.file(runId), { force: true });
    });
  }

  /** A live holder other than this supervisor, or null. */
  otherHolder(runId: string): RunHolder | null {
    const h = this.read(runId);
    return h && !this.isSelf(h) && holderAlive(h) ? h : null;
  }

  /** Throws RunHeldError if another live supervisor holds the run (before pausing, cancelling, deleting it). */
  refuseIfHeld(runId: string, what: string): void {
    const other = this.otherHolder(runId);
    if (other) throw new RunHeldError(runId, other, what);
  }

  private isSelf(h: RunHolder): boolean {
    return h.pid === this.self.pid && h.procStart === this.self.procStart;
  }

  private file(runId: string): string {
    // Run ids are [A-Za-z0-9_-] (the store makes them); anything else cannot name a claim file.
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) throw new Error(`not a run id: ${JSON.stringify(runId)}`);
    return path.join(this.dir, `${runId}.json`);
  }

  private read(runId: string): RunHolder | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file(runId), 'utf8');
    } catch {
      return null;
    }
    try {
      const h = JSON.parse(text) as RunHolder;
      return Number.isSafeInteger(h.pid) && typeof h.kind === 'string' ? h : null;
    } catch {
      return null; // a half-written claim cannot exist (written by rename); an edited one is void
    }
  }

  private write(runId: string, h: RunHolder): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file(runId)}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(h));
    fs.renameSync(tmp, this.file(runId));
  }
}
