/**
 * What a new user trips over in `selfemd`: every command answers `--help` with its own usage; an
 * error in what the user gave (here, a COCO file whose images are missing) is one line and exit 2,
 * never a stack trace; runs are addressed by id, unique id prefix or name, and `runs` shows names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { findRunRef, resolveRunRef } from '../../src-main/cli/run-ref';
import { openStore } from '../../src-main/store';
import { runSelfemd } from './run-selfemd';
import { tempDir } from '../temp-dir';

let home: string;
const selfemd = (...args: string[]) => runSelfemd(home, args, { SELFEMD_DEBUG: '' });

const COMMANDS = [
  'info',
  'pretrain',
  'runs',
  'resume',
  'export',
  'transport',
  'finetune',
  'predict',
  'probe',
  'study',
  'eval',
  'import',
  'clusters',
];

beforeAll(() => {
  home = tempDir('selfemd-cli-usage-');
  const store = openStore(path.join(home, 'studio.db'));
  for (const [id, name] of [
    ['a1b2c3d4-0000', 'st-byol'],
    ['a1b2ffff-0000', 'st-emd'],
    ['99990000-0000', 'twin'],
    ['99991111-0000', 'twin'],
  ])
    store.createRun({ id, kind: 'pretrain', name, method: 'byol', backbone: 'resnet18', config: {} });
  store.close();
});

describe('selfemd COMMAND --help', () => {
  it('answers with the command’s own usage, exit 0, for every command', async () => {
    const results = await Promise.all(COMMANDS.map((c) => selfemd(c, '--help')));
    results.forEach((r, k) => {
      const c = COMMANDS[k]!;
      expect(r.code, c).toBe(0);
      expect(r.out.startsWith(`usage: selfemd ${c}`), `${c}: ${r.out}`).toBe(true);
      // its own, not the whole list
      expect(r.out, c).not.toContain('Data and runs live in');
    });
    expect((await selfemd('help', 'export')).out).toMatch(/^usage: selfemd export RUN/);
    expect((await selfemd('export', 'st-byol', '-h')).out).toMatch(/^usage: selfemd export RUN/);
  });
});

describe('user errors', () => {
  it('a COCO file whose images are missing: one line naming where it looked, exit 2, no stack', async () => {
    const json = path.join(home, 'data', 'annotations', 'instances_train.json');
    fs.mkdirSync(path.dirname(json), { recursive: true });
    fs.writeFileSync(
      json,
      JSON.stringify({
        images: [{ id: 1, file_name: 'a.jpg' }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4] }],
        categories: [{ id: 1, name: 'thing' }],
      }),
    );
    const r = await selfemd(
      'finetune',
      '--init',
      'random',
      '--train',
      json,
      '--val',
      json,
      '--backend',
      'wasm',
    );
    expect(r.code).toBe(2);
    const errLines = r.err.trim().split('\n');
    expect(
      errLines.some((l) => /^\s+at /.test(l)),
      r.err,
    ).toBe(false);
    expect(errLines.at(-1)).toMatch(/^selfemd finetune: .*not found: .*is in .*annotations.*train/);
    const imported = await selfemd('import', json);
    expect(imported.code).toBe(2);
    expect(imported.err.trim().split('\n')).toHaveLength(1);
    expect(imported.err).toMatch(/^selfemd import: COCO images of .* not found/);
  });
});

describe('selfemd import of a VOC folder', () => {
  it('--split picks a list of ImageSets/Main and --images the image folder', async () => {
    const root = path.join(home, 'VOC');
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    };
    fs.mkdirSync(path.join(root, 'photos'), { recursive: true });
    for (const id of ['a', 'b']) {
      await sharp({ create: { width: 16, height: 12, channels: 3, background: '#468' } })
        .png()
        .toFile(path.join(root, 'photos', `${id}.png`));
      write(
        `Annotations/${id}.xml`,
        `<annotation><filename>${id}.png</filename><object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>8</xmax><ymax>8</ymax></bndbox></object></annotation>`,
      );
    }
    write('ImageSets/Main/train.txt', 'a\n');
    write('ImageSets/Main/val.txt', 'b\n');
    const r = await selfemd(
      'import',
      root,
      '--split',
      'val',
      '--images',
      path.join(root, 'photos'),
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const record = JSON.parse(r.out) as { kind: string; split: string; imageCount: number; name: string };
    expect([record.kind, record.split, record.imageCount, record.name]).toEqual([
      'voc',
      'val',
      1,
      'VOC (val)',
    ]);
  });
});

describe('addressing runs', () => {
  const runs = [
    { id: 'a1b2c3d4-0000', name: 'st-byol' },
    { id: 'a1b2ffff-0000', name: 'st-emd' },
    { id: '99990000-0000', name: 'twin' },
    { id: '99991111-0000', name: 'twin' },
    { id: 'st-byol-as-id', name: 'other' },
  ];
  it('by id, unique id prefix or name; ambiguity is refused with the candidates', () => {
    expect(findRunRef(runs, 'a1b2c3d4-0000', 'x')).toBe('a1b2c3d4-0000');
    expect(findRunRef(runs, 'a1b2c', 'x')).toBe('a1b2c3d4-0000');
    expect(findRunRef(runs, 'st-emd', 'x')).toBe('a1b2ffff-0000');
    // an exact id beats a name, a name beats a prefix
    expect(findRunRef([...runs, { id: 'st-emd', name: 'z' }], 'st-emd', 'x')).toBe('st-emd');
    expect(findRunRef(runs, 'st-byol', 'x')).toBe('a1b2c3d4-0000');
    expect(() => findRunRef(runs, 'a1b2', 'x')).toThrow(
      /the id prefix "a1b2" fits 2 runs \(a1b2c3d4-0000 "st-byol", a1b2ffff-0000 "st-emd"\)/,
    );
    expect(() => findRunRef(runs, 'twin', 'x')).toThrow(/the name "twin" fits 2 runs/);
    expect(findRunRef(runs, 'zzz', 'x')).toBeNull();
    expect(() => resolveRunRef(runs, 'zzz', 'export')).toThrow(
      /^selfemd export: no run with id, id prefix or name "zzz"/,
    );
  });

  it('the commands take them; runs lists names', async () => {
    const list = await selfemd('runs');
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^id\s+name\s+kind/);
    expect(list.out).toContain('st-byol');
    // found by name and by prefix: the error is then about the run (nothing to export), not its address
    for (const ref of ['st-byol', 'a1b2c3']) {
      const r = await selfemd('export', ref, '--out', path.join(home, 'x.safetensors'));
      expect(r.err, ref).not.toMatch(/no run with/);
      expect(r.err, ref).toContain('a1b2c3d4-0000');
    }
    const twin = await selfemd('resume', 'twin');
    expect(twin.code).toBe(2);
    expect(twin.err.trim()).toMatch(/^selfemd resume: the name "twin" fits 2 runs/);
  });
});
