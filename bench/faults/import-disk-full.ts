/**
 * Full disk, imports: `datasets.import` (through StudioService.handle, what both transports call)
 * while the datasets folder's disk is full. On a real full file system where one can be mounted (a
 * small tmpfs over `<home>/datasets`, filled to the last byte; mounting needs root), else by ENOSPC
 * injected at the engine's durable-write seam. Checks: each import (an image folder, a COCO set) is
 * refused with a message naming the datasets folder and the bytes its index needs; no dataset row or
 * folder is left behind (no `.importing-*` staging folder either) and every dataset recorded before
 * is unchanged; once space is freed, the same import works.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ApiResponse } from '../../shared/api/errors';
import { setWriteFaultForTests } from '../../src-main/engine/disk-write';
import { StudioService } from '../../src-main/jobs/studio-service';
import { exitingSpawner } from './api-fuzz';

export type DiskFullMode = 'tmpfs' | 'injected';

export interface ImportDiskFullResult {
  mode: DiskFullMode;
  imports: number;
  checks: { what: string; ok: boolean; detail: string }[];
}

/** A small tmpfs at `dir`, or false where mounting is not allowed (not root). */
function mountTmpfs(dir: string, bytes: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes `file` until the disk refuses a single byte more. */
function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const chunk of [64 * 1024, 4096, 1])
      for (;;)
        try {
          fs.writeSync(fd, Buffer.alloc(chunk));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
  } finally {
    fs.closeSync(fd);
  }
}

async function png(file: string, seed: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = Buffer.alloc(24 * 16 * 3, seed * 37);
  await sharp(data, { raw: { width: 24, height: 16, channels: 3 } })
    .png()
    .toFile(file);
}

/** An image folder and a COCO set (two images, two boxes) under `root`. */
async function sources(root: string): Promise<{ photos: string; coco: string }> {
  const photos = path.join(root, 'photos');
  await png(path.join(photos, 'a.png'), 1);
  await png(path.join(photos, 'b.png'), 2);
  const coco = path.join(root, 'coco');
  await png(path.join(coco, 'img1.png'), 3);
  await png(path.join(coco, 'img2.png'), 4);
  fs.writeFileSync(
    path.join(coco, 'annotations.json'),
    JSON.stringify({
      images: [
        { id: 1, file_name: 'img1.png', width: 24, height: 16 },
        { id: 2, file_name: 'img2.png', width: 24, height: 16 },
      ],
      categories: [{ id: 1, name: 'cat' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 10, 8] },
        { id: 2, image_id: 2, category_id: 1, bbox: [2, 2, 12, 6] },
      ],
    }),
  );
  return { photos, coco };
}

export async function runImportDiskFull(
  opts: { mode?: DiskFullMode | 'auto' } = {},
): Promise<ImportDiskFullResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-import-diskfull-'));
  const home = path.join(work, 'home');
  const datasets = path.join(home, 'datasets');
  fs.mkdirSync(datasets, { recursive: true });
  const mounted = opts.mode !== 'injected' && mountTmpfs(datasets, 256 * 1024);
  if (opts.mode === 'tmpfs' && !mounted)
    throw new Error(`could not mount a tmpfs at ${datasets} (needs root)`);
  const mode: DiskFullMode = mounted ? 'tmpfs' : 'injected';
  const service = StudioService.open({
    home,
    transport: 'browser',
    version: 'faults',
    seedDemos: false,
    spawner: exitingSpawner,
  });
  const checks: ImportDiskFullResult['checks'] = [];
  const check = (what: string, ok: boolean, detail: string) => checks.push({ what, ok, detail });
  const call = async (method: string, args: unknown) =>
    (await service.handle(method, args)) as ApiResponse<unknown>;
  let imports = 0;
  try {
    const { photos, coco } = await sources(work);
    const kept = await call('datasets.import', { path: photos, name: 'kept' });
    if (!kept.ok) throw new Error(`the import before the disk filled failed: ${kept.error.message}`);
    const listed = async () => JSON.stringify(await call('datasets.list', {}));
    const before = await listed();
    const foldersBefore = fs.readdirSync(datasets).sort().join(', ');

    const filler = path.join(datasets, 'filler.bin');
    if (mounted) fillDisk(filler);
    else
      setWriteFaultForTests((file) =>
        Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), {
          code: 'ENOSPC',
          syscall: 'write',
          path: file,
        }),
      );
    const messages: string[] = [];
    const wanted = new RegExp(
      `^could not import .+: the disk is full in ${datasets.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(the dataset's index needs \\d+ bytes`,
    );
    for (const source of [photos, coco]) {
      imports++;
      const r = await call('datasets.import', { path: source });
      messages.push(r.ok ? `imported ${source} on a full disk` : `${r.error.code}: ${r.error.message}`);
    }
    check(
      'refused naming the datasets folder and the bytes needed',
      messages.every((m) => m.startsWith('failed: ') && wanted.test(m.slice('failed: '.length))),
      messages[1] ?? '',
    );
    const foldersAfter = fs
      .readdirSync(datasets)
      .filter((f) => f !== 'filler.bin')
      .sort()
      .join(', ');
    check(
      'no row, folder or .importing-* left; datasets before unchanged',
      (await listed()) === before && foldersAfter === foldersBefore,
      `folders: ${foldersAfter || 'none'} (before: ${foldersBefore})`,
    );

    if (mounted) fs.rmSync(filler);
    else setWriteFaultForTests(null);
    imports++;
    const again = await call('datasets.import', { path: coco });
    const boxes = again.ok ? (again.value as { annotationCount: number }).annotationCount : -1;
    check(
      'the same import works once space is freed',
      again.ok &&
        boxes === 2 &&
        fs.existsSync(path.join(datasets, String((again.value as { id: number }).id), 'index.json')),
      again.ok ? `imported, ${boxes} boxes` : again.error.message,
    );
  } finally {
    setWriteFaultForTests(null);
    await service.close();
    if (mounted) execFileSync('umount', ['-l', datasets]);
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { mode, imports, checks };
}
