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

/**
 * Tools' caches in os.tmpdir(), shared by every test file: each file's folder links to the real temp
 * folder's (test/file-tmpdir.ts). tsx's transforms (`tsx-<uid>`: a cold cache costs each process
 * started with `--import tsx` about a second of CPU) and jiti's (the renderer build's config loading).
 */
export const SHARED_CACHES = [`tsx-${process.getuid?.() ?? os.userInfo().username}`, 'jiti'];

/**
 * What may stay in a temp folder because the product keeps it there on purpose (the folder is removed
 * with it anyway): the pthread worker script of the threaded wasm backend, written once per content
 * and reused by later processes (src-main/engine/backend/wasm-threaded.ts).
 */
const KEPT_ON_PURPOSE = [/^selfemd-tfjs-wasm-[0-9a-f]+\.worker\.cjs$/];

/** The entries of a test file's temp folder that nobody should have left there. */
export function leftovers(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => !SHARED_CACHES.includes(name) && !KEPT_ON_PURPOSE.some((re) => re.test(name)));
}

/** Removes every folder tempDir made that is still there. */
export function removeTempDirs(): void {
  for (const dir of [...made]) removeTempDir(dir);
}
