/**
 * What the server reads for a client stays inside its folder: the renderer's static files (no
 * symlink out of dist/renderer) and the images behind thumbnails and the transport view (an index
 * entry or a link that leads out of the dataset's folder is refused, not read).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { thumbnail, transportImage, type ImageSource } from '../../src-main/jobs/service/image-source';
import { serveStatic } from '../../src-main/server/static-files';
import { tempHome, writePng } from './fixtures';

const tmp = tempHome('selfemd-serving-');
afterAll(() => tmp.cleanup());

/** A ServerResponse stand-in that records the status and the body. */
function response(): { res: ServerResponse; done: Promise<{ status: number; body: string }> } {
  const sink = new PassThrough();
  let status = 0;
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const res = Object.assign(sink, {
    writeHead(code: number) {
      status = code;
      return res;
    },
  }) as unknown as ServerResponse;
  const done = new Promise<{ status: number; body: string }>((resolve) =>
    sink.on('finish', () => resolve({ status, body: Buffer.concat(chunks).toString() })),
  );
  return { res, done };
}
async function get(root: string, url: string) {
  const { res, done } = response();
  serveStatic(root, url, res);
  return done;
}

describe('static files', () => {
  const renderer = path.join(tmp.dir, 'renderer');
  const secret = path.join(tmp.dir, 'secret.txt');
  mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<html>index</html>');
  writeFileSync(path.join(renderer, 'assets', 'app.js'), 'app');
  writeFileSync(secret, 'TOP SECRET');
  symlinkSync(secret, path.join(renderer, 'assets', 'leak.js'));
  symlinkSync(tmp.dir, path.join(renderer, 'up'));

  it('serves files inside, and index.html for unknown paths and traversal attempts', async () => {
    expect(await get(renderer, '/assets/app.js')).toEqual({ status: 200, body: 'app' });
    expect(await get(renderer, '/nope')).toEqual({ status: 200, body: '<html>index</html>' });
    // URL paths are normalised as absolute first: ../ cannot climb above the root
    expect((await get(renderer, '/../secret.txt')).body).toBe('<html>index</html>');
    expect((await get(renderer, '/%2e%2e/%2e%2e/secret.txt')).body).toBe('<html>index</html>');
  });

  it('refuses a symlink that leads out of the folder (403), file or folder', async () => {
    expect(await get(renderer, '/assets/leak.js')).toEqual({ status: 403, body: 'forbidden' });
    expect(await get(renderer, '/up/secret.txt')).toEqual({ status: 403, body: 'forbidden' });
  });
});

describe('dataset images behind thumbnails and the transport view', () => {
  it('reads images inside the source folder and refuses any entry that leads out', async () => {
    const root = path.join(tmp.dir, 'dataset');
    await writePng(path.join(root, 'a.png'), 20, 16, 1);
    await writePng(path.join(tmp.dir, 'outside.png'), 20, 16, 2);
    symlinkSync(path.join(tmp.dir, 'outside.png'), path.join(root, 'link.png'));
    const source: ImageSource = {
      kind: 'files',
      root,
      files: ['a.png', '../outside.png', path.join(tmp.dir, 'outside.png'), 'link.png'],
    };
    expect(await thumbnail(source, 0, 16)).toMatch(/^data:image\/png;base64,/);
    expect(transportImage(source, 0)).toEqual({ path: path.join(root, 'a.png') });
    for (const k of [1, 2, 3]) {
      await expect(thumbnail(source, k, 16), source.files[k]).rejects.toThrow(
        /refused, .*outside the folder/,
      );
      expect(() => transportImage(source, k), source.files[k]).toThrow(/refused, .*outside the folder/);
    }
  });
});
