/** Folders (and optionally files) of the machine the studio runs on: the picker of browser mode. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DirEntry, DirListing } from '../../../shared/api/types';
import { shownValue } from '../../../shared/config/validation';
import { failed } from './api-errors';

const MAX_ENTRIES = 5000;

export function listDir(dir: string | undefined, showFiles: boolean): DirListing {
  const abs = path.resolve(dir ?? os.homedir());
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a path of thousands of characters is shown shortened: the message must not echo the input
    const shown = abs.length > 512 ? shownValue(abs) : abs;
    throw failed(
      code === 'ENOENT'
        ? `${shown} does not exist`
        : code === 'ENOTDIR'
          ? `${shown} is not a folder`
          : `${shown} cannot be read (${code ?? (e as Error).message})`,
      'Pick another folder.',
    );
  }
  const entries: DirEntry[] = [];
  for (const d of dirents) {
    if (entries.length >= MAX_ENTRIES) break;
    let isDir = d.isDirectory();
    let bytes = 0;
    if (d.isSymbolicLink() || (!isDir && showFiles)) {
      try {
        const s = fs.statSync(path.join(abs, d.name));
        isDir = s.isDirectory();
        bytes = s.isFile() ? s.size : 0;
      } catch {
        continue;
      }
    }
    if (isDir) entries.push({ name: d.name, kind: 'dir', bytes: 0 });
    else if (showFiles) entries.push({ name: d.name, kind: 'file', bytes });
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const parent = path.dirname(abs);
  return { path: abs, parent: parent === abs ? null : parent, entries };
}
