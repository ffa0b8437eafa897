/** The shared "stays inside the chosen folder" check: traversal, absolute paths and symlinks. */
import { mkdirSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWithin, resolveInsideFolder } from '../../../src-main/engine/data/inside-folder';
import { tempDir } from '../../temp-dir';

const tmp = realpathSync(tempDir('selfemd-inside-'));
const root = path.join(tmp, 'dataset');
const outside = path.join(tmp, 'secret.jpg');
mkdirSync(path.join(root, 'img', 'sub'), { recursive: true });
writeFileSync(path.join(root, 'img', 'a.jpg'), 'a');
writeFileSync(path.join(root, 'img', 'sub', 'b.jpg'), 'b');
writeFileSync(outside, 's');
symlinkSync(outside, path.join(root, 'img', 'link-out.jpg'));
symlinkSync(path.join(root, 'img', 'a.jpg'), path.join(root, 'img', 'link-in.jpg'));
symlinkSync(tmp, path.join(root, 'img', 'dir-out'));
symlinkSync(path.join(tmp, 'gone.jpg'), path.join(root, 'img', 'dangling.jpg'));
const img = path.join(root, 'img');

describe('resolveInsideFolder', () => {
  it('accepts relative paths (and absolute ones) that stay inside, returning the real path', () => {
    expect(resolveInsideFolder(img, 'a.jpg')).toEqual({ ok: true, path: path.join(img, 'a.jpg') });
    expect(resolveInsideFolder(img, 'sub/../sub/b.jpg')).toEqual({
      ok: true,
      path: path.join(img, 'sub', 'b.jpg'),
    });
    expect(resolveInsideFolder(img, path.join(img, 'a.jpg'))).toEqual({
      ok: true,
      path: path.join(img, 'a.jpg'),
    });
    expect(resolveInsideFolder(img, 'link-in.jpg')).toEqual({ ok: true, path: path.join(img, 'a.jpg') });
  });

  it('refuses traversal and absolute paths out of the folder without touching them', () => {
    for (const name of [
      '../../../etc/passwd',
      '../secret.jpg',
      '../../secret.jpg',
      '/etc/passwd',
      outside,
      'sub/../../x.jpg',
    ]) {
      const r = resolveInsideFolder(img, name);
      expect(r.ok, name).toBe(false);
      if (!r.ok) {
        expect(r.missing, name).toBe(false);
        expect(r.reason, name).toContain(`outside the folder ${img}`);
      }
    }
  });

  it('refuses symlinks (to files or folders) that point out of the folder', () => {
    for (const name of ['link-out.jpg', 'dir-out/secret.jpg']) {
      const r = resolveInsideFolder(img, name);
      expect(r).toEqual({
        ok: false,
        missing: false,
        reason: expect.stringContaining(`is a link to ${outside}`),
      });
    }
  });

  it('tells a missing file (inside) from an escape', () => {
    expect(resolveInsideFolder(img, 'nope.jpg')).toMatchObject({ ok: false, missing: true });
    expect(resolveInsideFolder(img, 'dangling.jpg')).toMatchObject({ ok: false, missing: true });
    expect(resolveInsideFolder(img, 'a.jpg\0.png')).toMatchObject({ ok: false, missing: false });
  });

  it('isWithin is not fooled by a shared name prefix', () => {
    expect(isWithin('/data/img', '/data/img2/a.jpg')).toBe(false);
    expect(isWithin('/data/img', '/data/img/..a.jpg')).toBe(true);
    expect(isWithin('/data/img', '/data/img')).toBe(true);
  });
});
