/**
 * The one check that a path named by a dataset (a COCO `file_name`, a VOC `<filename>`, a YOLO image
 * or label) or asked for by a client (a thumbnail, a static file) stays inside the folder the user
 * chose. The path is resolved against the folder, then both are resolved through symlinks
 * (realpath): `../../../etc/passwd`, an absolute path elsewhere and a symlink pointing out of the
 * folder are all refused, before the file is opened. Absolute paths that lead inside the folder are
 * accepted. Synchronous on purpose: a few syscalls, callable from sync and async code alike.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

export type InsideFolder =
  | { ok: true; /** The real (symlink-free) absolute path of the file. */ path: string }
  | {
      ok: false;
      /** True when the path stays inside but nothing is there (a missing image, not an attack). */
      missing: boolean;
      /** What is wrong, naming the path and the folder. */
      reason: string;
    };

/** Whether `file` is `folder` itself or below it (both absolute and normalised). */
export function isWithin(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

export function resolveInsideFolder(folder: string, name: string): InsideFolder {
  const base = path.resolve(folder);
  const lexical = path.resolve(base, name);
  if (name.includes('\0'))
    return { ok: false, missing: false, reason: `path ${JSON.stringify(name)} contains a NUL byte` };
  if (!isWithin(base, lexical))
    return {
      ok: false,
      missing: false,
      reason: `${JSON.stringify(name)} leads to ${lexical}, outside the folder ${base}`,
    };
  let realBase: string;
  try {
    realBase = realpathSync(base);
  } catch (e) {
    return { ok: false, missing: true, reason: `folder ${base} cannot be read (${(e as Error).message})` };
  }
  let real: string;
  try {
    real = realpathSync(lexical);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a dangling symlink is "not found" as far as the caller can tell; it is never opened
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { ok: false, missing: true, reason: `not found: ${lexical}` }
      : { ok: false, missing: false, reason: `${lexical} cannot be resolved (${(e as Error).message})` };
  }
  if (!isWithin(realBase, real))
    return {
      ok: false,
      missing: false,
      reason: `${JSON.stringify(name)} is a link to ${real}, outside the folder ${base}`,
    };
  return { ok: true, path: real };
}
