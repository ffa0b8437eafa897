/**
 * Bad input: a corpus of malformed datasets of the suite's own making — image folders, COCO, VOC and
 * YOLO — each damaged in one way and mixed with good items, imported through StudioService.handle
 * (what both transports call). For each case it checks: the answer names every bad file and its
 * problem (in the import report, or in the refusal when nothing in the case can be imported); every
 * good item is imported (image and box counts); and, after the whole corpus, every dataset and run
 * recorded before is unchanged (store rows and the dataset files on disk).
 *
 * One case needs a file no one may read (chmod 000): root reads it anyway, so as root that case is
 * left out and the result says so.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { setScanFaultForTests } from '../../src-main/engine/data/image-folder';
import { StudioService } from '../../src-main/jobs/studio-service';
import { exitingSpawner } from './api-fuzz';

/** One bad item and what its report line must say. */
interface Expected {
  /** The report's `file` (or, for a refusal, the message) contains this. */
  file: string;
  problem: RegExp;
}

interface CorpusCase {
  name: string;
  /** Builds the case under `dir`; returns what to import and what must come of it. */
  build: (dir: string) => Promise<{
    args: { path: string; format?: 'images' | 'coco' | 'voc' | 'yolo'; split?: string };
    /** Images and boxes that are good; null when the case must be refused as a whole. */
    good: { images: number; boxes?: number } | null;
    bad: Expected[];
  }>;
  /** Why the case cannot run here (it is then reported as left out). */
  skip?: () => string | null;
  /** Arms a fault for the import (removed after it). */
  fault?: () => void;
}

export interface CorpusCaseResult {
  name: string;
  /** 'imported' or 'refused' (what happened), or 'left out: <why>'. */
  outcome: string;
  goodExpected: string;
  goodImported: string;
  /** Bad items named with their problem, of those expected. */
  named: number;
  expectedBad: number;
  problems: string[];
  ok: boolean;
}

export interface CorpusResult {
  cases: CorpusCaseResult[];
  /** Datasets and runs recorded before the corpus, and whether each is unchanged after it. */
  before: { datasets: number; runs: number };
  lost: string[];
  seconds: number;
}

const W = 40;
const H = 30;

async function image(file: string, kind: 'png' | 'jpg', seed: number, w = W, h = H): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp({
    create: { width: w, height: h, channels: 3, background: { r: (seed * 53) % 256, g: 90, b: 200 } },
  });
  await (kind === 'png' ? img.png() : img.jpeg()).toFile(file);
}

/** A JPEG cut in half: its header reads, its pixels do not. */
/**
 * How a truncated JPEG's report may read: libvips words it by where the decode stopped ("Premature end
 * of JPEG file", "VipsJpeg: ... damaged", or a failed read), always inside our "not a decodable image"
 * or "could not decode" — never as a good image.
 */
const TRUNCATED_JPEG = /premature end|damaged|not a decodable image|could not decode/i;

async function truncatedJpeg(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const full = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
  fs.writeFileSync(file, full.subarray(0, Math.floor(full.length / 2)));
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Good images g1.png, g2.png, g3.png in `dir`. */
async function goodImages(dir: string, n = 3): Promise<string[]> {
  const names = [];
  for (let k = 1; k <= n; k++) {
    await image(path.join(dir, `g${k}.png`), 'png', k);
    names.push(`g${k}.png`);
  }
  return names;
}

const cocoJson = (
  images: { id: number; file_name: string }[],
  annotations: { id: number; image_id: number; category_id: number; bbox: number[] }[],
  categories = [{ id: 1, name: 'thing' }],
) => JSON.stringify({ images, annotations, categories });

/** Three good images with one good box each, as COCO records. */
function goodCoco(names: string[]) {
  return {
    images: names.map((n, k) => ({ id: k + 1, file_name: n })),
    annotations: names.map((_, k) => ({ id: k + 1, image_id: k + 1, category_id: 1, bbox: [2, 2, 10, 8] })),
  };
}

const vocXml = (file: string, objects: string[]) =>
  `<annotation><filename>${file}</filename><size><width>${W}</width><height>${H}</height><depth>3</depth></size>` +
  objects
    .map((b) => {
      const [x1, y1, x2, y2] = b.split(' ');
      return `<object><name>cat</name><bndbox><xmin>${x1}</xmin><ymin>${y1}</ymin><xmax>${x2}</xmax><ymax>${y2}</ymax></bndbox></object>`;
    })
    .join('') +
  '</annotation>';

/** A VOC root with good images g1..g3 (one box each), and the ids listed in train.txt. */
async function goodVoc(root: string, extraIds: string[] = []): Promise<void> {
  for (let k = 1; k <= 3; k++) {
    await image(path.join(root, 'JPEGImages', `g${k}.jpg`), 'jpg', k);
    write(path.join(root, 'Annotations', `g${k}.xml`), vocXml(`g${k}.jpg`, ['3 3 12 10']));
  }
  write(path.join(root, 'ImageSets', 'Main', 'train.txt'), ['g1', 'g2', 'g3', ...extraIds].join('\n') + '\n');
}

/** A YOLO root with good images g1..g3 (one box each) and data.yaml. */
async function goodYolo(root: string): Promise<void> {
  write(path.join(root, 'data.yaml'), 'names: [cat, dog]\n');
  for (let k = 1; k <= 3; k++) {
    await image(path.join(root, 'images', `g${k}.png`), 'png', k);
    write(path.join(root, 'labels', `g${k}.txt`), '0 0.5 0.5 0.25 0.25\n');
  }
}

const CASES: CorpusCase[] = [
  {
    name: 'image folder: truncated JPEG, 1×1 image, text named .jpg, empty file',
    build: async (dir) => {
      await goodImages(dir);
      await truncatedJpeg(path.join(dir, 'cut.jpg'));
      await image(path.join(dir, 'pixel.png'), 'png', 9, 1, 1);
      write(path.join(dir, 'notes.jpg'), 'this is a text file, not a JPEG\n');
      write(path.join(dir, 'sub', 'empty.png'), '');
      return {
        args: { path: dir },
        good: { images: 3 },
        bad: [
          { file: 'cut.jpg', problem: TRUNCATED_JPEG },
          { file: 'pixel.png', problem: /1×1|too small|side/ },
          { file: 'notes.jpg', problem: /unreadable|not .*image|unsupported/i },
          { file: 'sub/empty.png', problem: /empty/ },
        ],
      };
    },
  },
  {
    name: 'image folder: empty',
    build: async (dir) => {
      fs.mkdirSync(dir, { recursive: true });
      return { args: { path: dir }, good: null, bad: [{ file: dir, problem: /contains no image files/ }] };
    },
  },
  {
    name: 'image folder: a file no one may read (chmod 000)',
    skip: () => (process.getuid?.() === 0 ? 'running as root, which reads it anyway' : null),
    build: async (dir) => {
      await goodImages(dir);
      await image(path.join(dir, 'shut.png'), 'png', 7);
      fs.chmodSync(path.join(dir, 'shut.png'), 0o000);
      return {
        args: { path: dir },
        good: { images: 3 },
        bad: [{ file: 'shut.png', problem: /permission|EACCES|unreadable/i }],
      };
    },
  },
  {
    name: 'image folder: sub-folders vanishing / unreadable during the scan (injected)',
    fault: () =>
      setScanFaultForTests((dir) => {
        const base = path.basename(dir);
        if (base !== 'gone' && base !== 'locked') return undefined;
        const code = base === 'gone' ? 'ENOENT' : 'EACCES';
        return Object.assign(new Error(`${code}: scandir '${dir}'`), { code, syscall: 'scandir', path: dir });
      }),
    build: async (dir) => {
      await goodImages(dir);
      await goodImages(path.join(dir, 'gone'), 2);
      await goodImages(path.join(dir, 'locked', 'deeper'), 2);
      return {
        args: { path: dir },
        good: { images: 3 },
        bad: [
          { file: 'gone/', problem: /vanished while it was being scanned/ },
          { file: 'locked/', problem: /cannot be read \(permission denied\)/ },
        ],
      };
    },
  },
  {
    name: 'COCO: broken JSON (cut mid-object)',
    build: async (dir) => {
      const names = await goodImages(dir);
      const g = goodCoco(names);
      const text = cocoJson(g.images, g.annotations);
      write(path.join(dir, 'gt.json'), text.slice(0, Math.floor(text.length * 0.6)));
      return {
        args: { path: path.join(dir, 'gt.json') },
        good: null,
        bad: [{ file: path.join(dir, 'gt.json'), problem: /JSON|end|line/ }],
      };
    },
  },
  {
    name: 'COCO: NaN token in a bbox',
    build: async (dir) => {
      const names = await goodImages(dir);
      const g = goodCoco(names);
      write(
        path.join(dir, 'gt.json'),
        cocoJson(g.images, g.annotations).replace('"bbox":[2,2,10,8]', '"bbox":[NaN,2,10,8]'),
      );
      return {
        args: { path: path.join(dir, 'gt.json') },
        good: { images: 3, boxes: 2 },
        bad: [{ file: 'gt.json', problem: /annotations\[0\]\.bbox.*NaN.*not four finite numbers/ }],
      };
    },
  },
  {
    name: 'COCO: unknown category, boxes outside / negative / zero-size',
    build: async (dir) => {
      const names = await goodImages(dir);
      const g = goodCoco(names);
      const bad = [
        { id: 10, image_id: 1, category_id: 99, bbox: [2, 2, 5, 5] },
        { id: 11, image_id: 2, category_id: 1, bbox: [100, 100, 5, 5] },
        { id: 12, image_id: 2, category_id: 1, bbox: [5, 5, -4, 6] },
        { id: 13, image_id: 3, category_id: 1, bbox: [5, 5, 0, 0] },
      ];
      write(path.join(dir, 'gt.json'), cocoJson(g.images, [...g.annotations, ...bad]));
      return {
        args: { path: path.join(dir, 'gt.json') },
        good: { images: 3, boxes: 3 },
        bad: [
          { file: 'gt.json', problem: /annotations\[3\].*categor/ },
          { file: 'gt.json', problem: /annotations\[4\].*(outside|beyond)/ },
          { file: 'gt.json', problem: /annotations\[5\].*non-positive size/ },
          { file: 'gt.json', problem: /annotations\[6\].*non-positive size/ },
        ],
      };
    },
  },
  {
    name: 'COCO: file_name escaping the folder (../, absolute), missing, truncated JPEG, text named .jpg',
    build: async (dir) => {
      const names = await goodImages(path.join(dir, 'images'));
      await image(path.join(dir, 'secret.png'), 'png', 5);
      await truncatedJpeg(path.join(dir, 'images', 'cut.jpg'));
      write(path.join(dir, 'images', 'notes.jpg'), 'not a JPEG\n');
      const g = goodCoco(names);
      const extra = ['../secret.png', 'cut.jpg', 'notes.jpg', '/etc/hostname', 'gone.png'];
      write(
        path.join(dir, 'gt.json'),
        cocoJson(
          [...g.images, ...extra.map((n, k) => ({ id: 10 + k, file_name: n }))],
          [
            ...g.annotations,
            ...extra.map((_, k) => ({ id: 10 + k, image_id: 10 + k, category_id: 1, bbox: [1, 1, 4, 4] })),
          ],
        ),
      );
      return {
        args: { path: path.join(dir, 'gt.json'), format: 'coco' },
        good: { images: 3, boxes: 3 },
        bad: [
          { file: 'gt.json', problem: /images\[3\]\.file_name.*outside.*never opened/ },
          { file: 'gt.json', problem: /images\[6\]\.file_name.*(outside|absolute).*never opened/ },
          { file: 'gt.json', problem: /images\[7\].*(not found|missing|does not exist)/ },
          { file: 'cut.jpg', problem: TRUNCATED_JPEG },
          { file: 'notes.jpg', problem: /unreadable|not .*image|unsupported/i },
        ],
      };
    },
  },
  {
    name: 'VOC: broken XML, id without annotation, box outside, filename escaping, text named .jpg',
    build: async (root) => {
      await goodVoc(root, ['broken', 'ghost', 'wide', 'escape', 'fake']);
      await image(path.join(root, 'JPEGImages', 'broken.jpg'), 'jpg', 4);
      write(
        path.join(root, 'Annotations', 'broken.xml'),
        '<annotation><filename>broken.jpg</filename><size>',
      );
      await image(path.join(root, 'JPEGImages', 'wide.jpg'), 'jpg', 6);
      write(path.join(root, 'Annotations', 'wide.xml'), vocXml('wide.jpg', ['3 3 12 10', '200 200 300 300']));
      await image(path.join(root, 'secret.jpg'), 'jpg', 8);
      write(path.join(root, 'Annotations', 'escape.xml'), vocXml('../secret.jpg', ['3 3 12 10']));
      write(path.join(root, 'JPEGImages', 'fake.jpg'), 'not a JPEG\n');
      write(path.join(root, 'Annotations', 'fake.xml'), vocXml('fake.jpg', ['3 3 12 10']));
      return {
        args: { path: root, format: 'voc', split: 'train' },
        good: { images: 4, boxes: 4 },
        bad: [
          { file: 'broken.xml', problem: /XML/ },
          { file: 'train.txt', problem: /ghost/ },
          { file: 'wide.xml', problem: /outside|beyond/ },
          { file: 'escape.xml', problem: /outside.*never opened/ },
          { file: 'fake.xml', problem: /unsupported image format|unreadable/ },
        ],
      };
    },
  },
  {
    name: 'YOLO: wrong field count, out-of-range values, label without image',
    build: async (root) => {
      await goodYolo(root);
      await image(path.join(root, 'images', 'b1.png'), 'png', 4);
      write(
        path.join(root, 'labels', 'b1.txt'),
        ['0 0.5 0.5 0.2', '0 1.7 0.5 0.2 0.2', '5 0.5 0.5 0.2 0.2', '0 0.4 0.4 0.2 0.2'].join('\n') + '\n',
      );
      write(path.join(root, 'labels', 'orphan.txt'), '0 0.5 0.5 0.2 0.2\n');
      return {
        args: { path: root, format: 'yolo' },
        good: { images: 4, boxes: 4 },
        bad: [
          { file: 'b1.txt', problem: /line 1.*(field|value|number)/ },
          { file: 'b1.txt', problem: /line 2.*(range|outside|1\.7)/ },
          { file: 'b1.txt', problem: /line 3.*class/ },
          { file: 'orphan.txt', problem: /no image/ },
        ],
      };
    },
  },
];

function fileHash(f: string): string {
  try {
    return createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  } catch {
    return 'missing';
  }
}

export async function runMalformedCorpus(opts: { log?: (line: string) => void } = {}): Promise<CorpusResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-corpus-'));
  const home = path.join(work, 'home');
  const service = StudioService.open({
    home,
    transport: 'browser',
    version: 'corpus',
    spawner: exitingSpawner,
  });
  const cases: CorpusCaseResult[] = [];
  const lost: string[] = [];
  try {
    const call = async (method: string, args: unknown) => {
      const r = await service.handle(method, args);
      if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
      return r.value;
    };
    // What was there before: the demo datasets, a good imported folder, and a run.
    const keptDir = path.join(work, 'kept');
    await goodImages(keptDir);
    await call('datasets.import', { path: keptDir, name: 'kept before the corpus' });
    const all = service.store.listDatasets();
    const demo = (all.find((d) => d.kind === 'demo' && /train/.test(d.name)) ?? all[0]!).id;
    const run = (await call('runs.start', {
      method: 'byol',
      datasetId: demo,
      name: 'before',
      config: {},
    })) as {
      id: string;
    };
    await service.manager.wait(run.id);
    const snapshot = () => ({
      datasets: service.store.listDatasets(),
      runs: service.store.listRuns(),
    });
    const before = snapshot();
    const filesBefore = new Map(
      before.datasets.flatMap((d) =>
        ['index.json', 'boxes.json'].map((f) => {
          const p = path.join(home, 'datasets', String(d.id), f);
          return [p, fileHash(p)] as const;
        }),
      ),
    );

    for (const [k, c] of CASES.entries()) {
      const why = c.skip?.();
      if (why) {
        cases.push({
          name: c.name,
          outcome: `left out: ${why}`,
          goodExpected: '—',
          goodImported: '—',
          named: 0,
          expectedBad: 0,
          problems: [],
          ok: true,
        });
        continue;
      }
      const spec = await c.build(path.join(work, 'corpus', `case-${k + 1}`));
      const datasetsBefore = service.store.listDatasets().length;
      c.fault?.();
      const r = await service.handle('datasets.import', spec.args).finally(() => setScanFaultForTests(null));
      const problems: string[] = [];
      let lines: string[];
      let outcome: string;
      let goodImported = '—';
      if (r.ok) {
        const rec = r.value as {
          imageCount: number;
          annotationCount: number;
          importReport: { skipped: { file: string; reason: string }[] };
        };
        outcome = 'imported';
        goodImported = `${rec.imageCount} images, ${rec.annotationCount} boxes`;
        lines = rec.importReport.skipped.map((s) => `${s.file}: ${s.reason}`);
        if (!spec.good) problems.push(`imported (${goodImported}); expected a refusal`);
        else {
          if (rec.imageCount !== spec.good.images)
            problems.push(`${rec.imageCount} images imported, ${spec.good.images} good`);
          if (spec.good.boxes !== undefined && rec.annotationCount !== spec.good.boxes)
            problems.push(`${rec.annotationCount} boxes imported, ${spec.good.boxes} good`);
        }
      } else {
        outcome = 'refused';
        lines = [`${r.error.message}`];
        if (spec.good)
          problems.push(`refused (${r.error.message}); ${spec.good.images} good images expected`);
        if (/\b(E[A-Z]{3,}|internal)\b/.test(r.error.code + ' ' + r.error.message))
          problems.push(`raw error: ${r.error.message}`);
        if (service.store.listDatasets().length !== datasetsBefore)
          problems.push('a refused import left a dataset');
      }
      let named = 0;
      for (const b of spec.bad) {
        if (lines.some((l) => l.includes(b.file) && b.problem.test(l))) named++;
        else {
          const said = lines.find((l) => l.includes(b.file));
          problems.push(
            `${b.file} not named with ${b.problem}${said ? ` (said: ${said})` : ' (not named at all)'}`,
          );
        }
      }
      log(`corpus ${k + 1} ${c.name}: ${outcome}; ${lines.length} report line(s)`);
      for (const l of lines) log(`    ${l}`);
      cases.push({
        name: c.name,
        outcome,
        goodExpected: spec.good
          ? `${spec.good.images} images${spec.good.boxes !== undefined ? `, ${spec.good.boxes} boxes` : ''}`
          : 'refusal',
        goodImported,
        named,
        expectedBad: spec.bad.length,
        problems,
        ok: problems.length === 0,
      });
    }

    const after = snapshot();
    for (const d of before.datasets) {
      const now = after.datasets.find((x) => x.id === d.id);
      if (JSON.stringify(now) !== JSON.stringify(d))
        lost.push(`dataset ${d.id} "${d.name}" changed or vanished`);
    }
    for (const x of before.runs) {
      const now = after.runs.find((y) => y.id === x.id);
      if (JSON.stringify(now) !== JSON.stringify(x)) lost.push(`run ${x.id} "${x.name}" changed or vanished`);
    }
    for (const [p, h] of filesBefore) if (fileHash(p) !== h) lost.push(`${path.relative(home, p)} changed`);
    return {
      cases,
      before: { datasets: before.datasets.length, runs: before.runs.length },
      lost,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await service.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
