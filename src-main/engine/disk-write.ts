/**
 * The one way the engine writes files it must not lose (checkpoints, exported weights). Every such
 * write goes through writeFileDurable, so a full disk is met in one place: the partial file is removed
 * (it would only hold on to the space that is missing) and a DiskFullError names the folder, the bytes
 * the write needed and the bytes free, which the supervisor turns into a pause rather than a failure.
 * Tests inject a failure here (setWriteFaultForTests) where no small file system can be mounted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A write met ENOSPC (or EDQUOT): the run can continue once space is freed. */
export class DiskFullError extends Error {
  constructor(
    readonly folder: string,
    readonly bytesNeeded: number,
    readonly bytesFree: number | null,
    options?: { cause?: unknown },
  ) {
    super(
      `the disk is full: could not write ${bytesNeeded} bytes in ${folder}` +
        (bytesFree !== null ? ` (${bytesFree} bytes free)` : '') +
        '; free some space there, then resume',
      options,
    );
    this.name = 'DiskFullError';
  }
}

/** The name a DiskFullError keeps across process boundaries (worker → supervisor messages). */
export const DISK_FULL_ERROR_NAME = 'DiskFullError';

type WriteFault = (file: string, bytes: number) => NodeJS.ErrnoException | undefined;
let fault: WriteFault | null = null;

/**
 * Test hook: every durable write first asks `f`; an error it returns is thrown as if the write had
 * met it (after creating the file, as a real short write would). `null` removes the hook.
 */
export function setWriteFaultForTests(f: WriteFault | null): void {
  fault = f;
}

const isDiskFull = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
};

function freeBytes(folder: string): number | null {
  try {
    const s = fs.statfsSync(folder);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** Writes `data` to `file` and fsyncs it; on a full disk removes what was written and throws DiskFullError. */
export function writeFileDurable(file: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'w');
    const injected = fault?.(file, bytes.byteLength);
    if (injected) throw injected;
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } catch (e) {
    if (!isDiskFull(e)) throw e;
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
    fs.rmSync(file, { force: true });
    const folder = path.dirname(file);
    throw new DiskFullError(folder, bytes.byteLength, freeBytes(folder), { cause: e });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
