/**
 * How a cluster's token is kept at rest in studio.db. Where the OS offers protection of its own (the
 * desktop app: Electron's safeStorage, backed by the Keychain, DPAPI or the Secret Service), the token
 * is sealed with it and stored as `sealed:v1:<base64>`; only a process of that app can open it.
 *
 * Elsewhere (the CLI and browser mode under plain Node) no OS store is reachable without a native
 * dependency this project does not ship: the token is stored as it is, in a database file made
 * readable by its owner alone (0600, with its -wal and -shm files). A separate 0600 file beside the
 * database would protect it no better (same user, same folder) and would be a second thing to back
 * up and keep in step with the database, so the database it is.
 */
import * as fs from 'node:fs';

/** What seals and opens text with the OS's protection (the app passes one built on safeStorage). */
export interface SecretBox {
  /** Named in messages, e.g. 'Electron safeStorage (gnome_libsecret)'. */
  readonly name: string;
  seal(plain: string): Buffer;
  open(sealed: Buffer): string;
}

const SEALED = 'sealed:v1:';

const isSealed = (stored: string): boolean => stored.startsWith(SEALED);

/** The column's text for `token`: sealed when a box is given. */
export function sealToken(token: string, box: SecretBox | undefined): string {
  return box ? SEALED + box.seal(token).toString('base64') : token;
}

/** The token from the column's text; a sealed one needs the box that sealed it. */
export function openToken(stored: string, box: SecretBox | undefined, cluster: string): string {
  if (!isSealed(stored)) return stored;
  if (!box)
    throw new Error(
      `the token of cluster ${cluster} is sealed by the desktop app's OS protection (Electron safeStorage); ` +
        `this process cannot open it: use the cluster from the app, or store the token again here with ` +
        `selfemd clusters add ${cluster} … --token-file FILE`,
    );
  try {
    return box.open(Buffer.from(stored.slice(SEALED.length), 'base64'));
  } catch (e) {
    throw new Error(
      `the token of cluster ${cluster} cannot be opened with ${box.name} (${(e as Error).message}); store it again`,
    );
  }
}

/** Makes the database file and its WAL companions readable by their owner alone (POSIX; a no-op elsewhere). */
export function restrictToOwner(dbFile: string): void {
  if (process.platform === 'win32') return;
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`])
    try {
      fs.chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
}
