/**
 * The one way a test makes a temporary folder: `tempDir(prefix)` creates it in os.tmpdir() and it is
 * removed when the test file ends (test/file-tmpdir.ts runs `removeTempDirs` after the file's own
 * afterAll hooks, so servers and training processes have stopped by then). `removeTempDir` frees one
 * earlier, e.g. in an afterEach of a file that makes many.
 *
 * os.tmpdir() is the test file's own folder under the run's private root (test/file-tmpdir.ts), so
 * the leftovers check can name the file that left something behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made = new Set<string>();

/** A new, empty folder named `<prefix><random>` in os.tmpdir(); removed at the end of the test file. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes a folder tempDir made (and everything in it) now rather than at the end of the file. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Removes every folder tempDir made that is still there. */
export function removeTempDirs(): void {
  for (const dir of [...made]) removeTempDir(dir);
}
