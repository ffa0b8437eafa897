/** Maps an app:// URL path to a file of the built renderer; never to anything outside it. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A file inside `root` for a URL path (index.html for routes), or null for an undecodable path. */
export function rendererFile(root: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const base = path.resolve(root);
  const file = path.resolve(base, `.${path.posix.normalize(`/${rel}`)}`);
  if (file !== base && !file.startsWith(base + path.sep)) return null;
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) return path.join(base, 'index.html');
  return file;
}
