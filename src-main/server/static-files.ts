/**
 * Serves the built renderer (dist/renderer): files by exact path inside the folder, index.html
 * otherwise. A path that leads out of the folder, lexically or through a symlink, is refused (403).
 */
import * as fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import * as path from 'node:path';
import { resolveInsideFolder } from '../engine/data/inside-folder';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function serveStatic(root: string, urlPath: string, res: ServerResponse): void {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    res.writeHead(400).end('bad path');
    return;
  }
  const base = path.resolve(root);
  const where = resolveInsideFolder(base, `.${path.posix.normalize(`/${rel}`)}`);
  if (!where.ok && !where.missing) {
    res.writeHead(403).end('forbidden');
    return;
  }
  let file = where.ok ? where.path : path.join(base, 'index.html');
  const found = fs.statSync(file, { throwIfNoEntry: false });
  if (!found || found.isDirectory()) file = path.join(base, 'index.html');
  if (!fs.existsSync(file)) {
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`The renderer is not built (${base} is missing). Run: npm run build:renderer`);
    return;
  }
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  // Hashed assets never change; index.html must always be fresh.
  const cache = file.includes(`${path.sep}assets${path.sep}`)
    ? 'public, max-age=31536000, immutable'
    : 'no-store';
  res.writeHead(200, { 'Content-Type': type, 'Cache-Control': cache });
  fs.createReadStream(file).pipe(res);
}
