/** makeFolder: creates nested folders, and fails with the folder's name where none can be made. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolder } from '../../../src-main/engine/export/make-folder';
import { removeTempDir, tempDir } from '../../temp-dir';

describe('makeFolder', () => {
  it('creates missing levels, accepts an existing folder, names a file in the way', () => {
    const root = tempDir('make-folder-');
    const deep = path.join(root, 'a', 'b', 'c');
    makeFolder(deep);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    makeFolder(deep);
    fs.writeFileSync(path.join(root, 'file'), 'x');
    expect(() => makeFolder(path.join(root, 'file', 'sub'))).toThrow(
      `cannot create the folder ${path.join(root, 'file', 'sub')}: ${path.join(root, 'file')} is a file`,
    );
    removeTempDir(root);
  });

  it.runIf(fs.existsSync('/proc/self'))('fails at once under /proc (where a recursive mkdir loops)', () => {
    expect(() => makeFolder('/proc/nope/deeper')).toThrow('cannot create the folder /proc/nope: ENOENT');
  });
});
