/**
 * Hostile API input: every method of the typed API (shared/api/methods.ts) is called through
 * StudioService.handle — what both transports call — with seeded generated arguments: a valid
 * template per method with one or two fields replaced by wrong types, huge numbers, NaN, ±Infinity,
 * very long strings, path traversal, NUL bytes, symlinks to system folders, a FIFO, prototype keys,
 * deep nesting; run configs with hostile leaves; arguments that are not an object at all. For each
 * answer it checks: it came within the time limit; it is an envelope; a refusal carries a known code
 * other than `internal`, a message of sensible length, and, when `invalid`, names the field; a
 * refused call left the store's rows unchanged. At the end: nothing was written outside the studio's
 * home and the folder the user chose, and no system folder changed.
 *
 * Training processes are never started: the service's spawner is a stand-in whose process exits at
 * once (a run the fuzz manages to start fails; that is an accepted answer, not a finding).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { METHOD_ARGS, METHOD_NAMES, type MethodName } from '../../shared/api/methods';
import { DEFAULT_FINETUNE_CONFIG } from '../../shared/config/finetune';
import { DEFAULT_PRETRAIN_CONFIG } from '../../shared/config/pretrain';
import { shownValue } from '../../shared/config/validation';
import { createRng, type Rng } from '../../src-main/engine/data/rng';
import { StudioService } from '../../src-main/jobs/studio-service';
import type { WorkerHandle, WorkerSpawner } from '../../src-main/jobs/worker-process';
import { generateDemoScenes, writeDemoPng } from '../../src-main/engine/data/demo-scenes';

export interface FuzzOptions {
  /** Calls per method. */
  calls: number;
  seed: number;
  /** An answer later than this is a hang (default 15 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface FuzzFinding {
  method: string;
  args: string;
  problem: string;
}

export interface FuzzResult {
  calls: number;
  methods: number;
  accepted: number;
  refused: Record<string, number>;
  findings: FuzzFinding[];
  /** Files created or changed outside the home and the chosen folder. */
  writtenOutside: string[];
  slowest: { method: string; ms: number; args: string };
  seconds: number;
}

/** A call may keep the event loop this long (ms) at most: longer, and live views and metrics stall. */
const MAX_LAG_MS = 500;

const API_CODES = ['invalid', 'not-found', 'conflict', 'unauthorized', 'unavailable', 'failed'];

/** A training process that exits at once, failing, without starting anything. */
export const exitingSpawner: WorkerSpawner = () => {
  let exit: ((code: number | null, signal: string | null) => void) | undefined;
  const handle: WorkerHandle = {
    pid: undefined,
    send: (m) => {
      if (m.type === 'start') setImmediate(() => exit?.(1, null));
    },
    onMessage: () => undefined,
    onExit: (l) => (exit = l),
    kill: () => setImmediate(() => exit?.(null, 'SIGKILL')),
  };
  return handle;
};

/** Every leaf path of a config object ('optim.lr', …). */
function leafPaths(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? leafPaths(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

function setPath(o: Record<string, unknown>, p: string, v: unknown): void {
  const keys = p.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1)!] = v;
}

/** Row contents of every table, hashed: equal hashes, unchanged store. */
function storeDigest(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const h = createHash('sha256');
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    for (const t of tables) {
      h.update(t);
      // Some tables are WITHOUT ROWID: rows in a canonical order of their own.
      const rows = db
        .prepare(`SELECT * FROM "${t}"`)
        .raw()
        .all()
        .map((row) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
        .sort();
      for (const row of rows) h.update(row);
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

/** Every file under `dir` with its size and mtime (symlinks not followed). */
function treeState(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const s = fs.lstatSync(p);
    out.set(p, `${s.size}:${s.mtimeMs}`);
  }
  return out;
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [p, v] of after) if (before.get(p) !== v) diff.push(before.has(p) ? `changed ${p}` : `new ${p}`);
  for (const p of before.keys()) if (!after.has(p)) diff.push(`removed ${p}`);
  return diff;
}

/** An argument as a finding shows it (long strings shortened). */
const short = (v: unknown): string => {
  if (typeof v !== 'object' || v === null) return shownValue(v);
  try {
    const s = JSON.stringify(v, (_k, x: unknown) =>
      typeof x === 'number' && !Number.isFinite(x)
        ? String(x)
        : typeof x === 'bigint'
          ? `${x}n`
          : typeof x === 'string' && x.length > 60
            ? `${x.slice(0, 20)}…(${x.length} chars)`
            : x,
    );
    return s.length > 300 ? `${s.slice(0, 300)}…` : s;
  } catch {
    return shownValue(v);
  }
};

export async function runApiFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const rng = createRng(opts.seed);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-fuzz-'));
  const home = path.join(work, 'home');
  const chosen = path.join(work, 'chosen');
  const outside = path.join(work, 'outside');
  fs.mkdirSync(path.join(chosen, 'images'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  // The folder the user chose: a few real images, a COCO file, symlinks out, a FIFO that blocks a reader.
  const scenes = generateDemoScenes({ count: 3, size: 32, seed: 1, stream: 'fuzz' });
  for (const [i, im] of scenes.images.entries())
    await writeDemoPng(path.join(chosen, 'images', `img${i}.png`), im);
  fs.writeFileSync(path.join(chosen, 'coco.json'), JSON.stringify(scenes.coco));
  fs.writeFileSync(path.join(outside, 'secret.json'), '{"images":[],"annotations":[],"categories":[]}');
  fs.symlinkSync('/etc', path.join(chosen, 'link-etc'));
  fs.symlinkSync('/', path.join(chosen, 'link-root'));
  fs.symlinkSync('/proc', path.join(chosen, 'link-proc'));
  fs.symlinkSync(outside, path.join(chosen, 'link-outside'));
  fs.mkdirSync(path.join(chosen, 'fifo-folder'));
  let fifo = false;
  try {
    execFileSync('mkfifo', [path.join(chosen, 'fifo-folder', 'frame.jpg')]);
    fifo = true;
  } catch {
    // no mkfifo: the case is left out
  }

  const service = StudioService.open({
    home,
    transport: 'browser',
    version: 'fuzz',
    spawner: exitingSpawner,
    uploads: true,
  });
  const db = path.join(home, 'studio.db');
  const findings: FuzzFinding[] = [];
  const refused: Record<string, number> = {};
  let accepted = 0;
  let calls = 0;
  let slowest = { method: '', ms: 0, args: '' };
  // Everything in the fuzz's folder but the home and the chosen folder; and system folders' listings.
  const watchedOutside = () =>
    new Map(
      [...treeState(work)].filter(
        ([p]) =>
          p !== home && p !== chosen && !p.startsWith(home + path.sep) && !p.startsWith(chosen + path.sep),
      ),
    );
  const outsideBefore = watchedOutside();
  const listing = (d: string) => fs.readdirSync(d).sort().join('\n');
  const systemBefore = new Map(['/etc', '/', process.cwd()].map((d) => [d, listing(d)]));

  try {
    // Something real to aim at: the demo datasets the service seeded, a run that exists.
    const datasets = service.store.listDatasets();
    const demo = (datasets.find((d) => /train/.test(d.name)) ?? datasets[0]!).id;
    const started = await service.handle('runs.start', {
      method: 'byol',
      datasetId: demo,
      name: 'fuzz target',
      config: {},
    });
    if (!started.ok) throw new Error(`fuzz: could not record a target run: ${started.error.message}`);
    const runId = (started.value as { id: string }).id;
    await service.manager.wait(runId);

    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
    const deep = (n: number): unknown => (n === 0 ? 1 : { a: deep(n - 1) });
    const hostile = (r: Rng): unknown => {
      const pool: (() => unknown)[] = [
        () => undefined,
        () => null,
        () => true,
        () => 0,
        () => -1,
        () => -0,
        () => 0.5,
        () => 2 ** 53,
        () => -(2 ** 63),
        () => 1e308,
        () => Number.MAX_VALUE * 10,
        () => NaN,
        () => -Infinity,
        () => 5e-324,
        () => '',
        () => ' ',
        () => '1',
        () => 'x'.repeat(100_000),
        () => '../../../../../../etc/passwd',
        () => `${chosen}/../outside/secret.json`,
        () => path.join(chosen, 'link-etc'),
        () => path.join(chosen, 'link-root'),
        () => path.join(chosen, 'link-proc'),
        () => path.join(chosen, 'link-outside', 'secret.json'),
        () => path.join(outside, 'new-file.safetensors'),
        () => (fifo ? path.join(chosen, 'fifo-folder') : chosen),
        () => '/proc/self/mem',
        () => '/dev/zero',
        () => '/',
        () => 'a\u0000b',
        () => '\u0000',
        () => 'C:\\Windows\\System32',
        () => '%2e%2e%2f%2e%2e%2fetc',
        () => 'file:///etc/passwd',
        () => '😀\u202e\ud800',
        () => [],
        () => [1, 'a', null],
        () => Array.from({ length: 10_000 }, () => 'id'),
        () => ({}),
        () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}}') as unknown,
        () => deep(2000),
        // What Electron's structured clone carries and JSON cannot: a cycle, a BigInt, a Date, bytes.
        () => {
          const o: Record<string, unknown> = { a: 1 };
          o.self = o;
          return o;
        },
        () => 10n ** 30n,
        () => new Date(NaN),
        () => new Uint8Array(8),
        () => runId,
        () => demo,
        () => chosen,
        () => path.join(chosen, 'coco.json'),
      ];
      return pool[r.int(pool.length)]!();
    };
    const strings = [
      '',
      'x'.repeat(4096),
      '../../../../../../etc/passwd',
      `${chosen}/../outside/secret.json`,
      `${chosen}/../outside`,
      path.join(chosen, 'link-etc'),
      path.join(chosen, 'link-root'),
      path.join(chosen, 'link-proc'),
      path.join(chosen, 'link-outside'),
      path.join(chosen, 'link-outside', 'secret.json'),
      path.join(chosen, 'link-outside', 'new.safetensors'),
      path.join(outside, 'new-file.safetensors'),
      path.join(chosen, 'fifo-folder'),
      path.join(chosen, 'fifo-folder', 'frame.jpg'),
      '/proc/self/mem',
      '/dev/zero',
      '/',
      '/etc',
      '/etc/passwd',
      'relative/path',
      'C:\\Windows\\System32',
      '😀\u202e\ud800',
      runId,
      path.join(chosen, 'coco.json'),
      path.join(chosen, 'images'),
    ];
    const numbers = [0, -1, 1, 2 ** 31, 2 ** 53 - 1, 1e12, 10_000_000, 0.5, 100_000, 512, 513, 15, 16];
    const sameType = (v: unknown): unknown =>
      typeof v === 'string' ? pick(strings) : typeof v === 'number' ? pick(numbers) : hostile(rng);
    const configPaths = {
      pretrain: leafPaths(DEFAULT_PRETRAIN_CONFIG as unknown as Record<string, unknown>),
      finetune: leafPaths(DEFAULT_FINETUNE_CONFIG as unknown as Record<string, unknown>),
    };
    const hostileConfig = (kind: 'pretrain' | 'finetune'): unknown => {
      if (rng.next() < 0.2) return hostile(rng);
      const c: Record<string, unknown> = {};
      const n = 1 + rng.int(3);
      for (let i = 0; i < n; i++) setPath(c, pick(configPaths[kind]), hostile(rng));
      if (rng.next() < 0.1) c.unknownField = 1;
      return c;
    };

    const templates: { [M in MethodName]: () => Record<string, unknown> } = {
      'system.info': () => ({}),
      'system.listDir': () => ({ path: chosen, showFiles: true }),
      'system.pickPath': () => ({ kind: 'folder', title: 'pick' }),
      'datasets.list': () => ({}),
      'datasets.get': () => ({ id: demo }),
      'datasets.images': () => ({ id: demo, offset: 0, limit: 10 }),
      'datasets.thumbnail': () => ({ id: demo, index: 0, size: 64 }),
      'datasets.image': () => ({ id: demo, index: 0, size: 128 }),
      'datasets.splits': () => ({ path: chosen }),
      'datasets.import': () => ({ path: path.join(chosen, 'images'), name: 'fuzz import' }),
      'datasets.addDemo': () => ({ count: 2, split: 'train' }),
      'datasets.delete': () => ({ id: demo }),
      'runs.list': () => ({}),
      'runs.get': () => ({ id: runId }),
      'runs.validate': () => ({ method: 'byol', datasetId: demo, config: {} }),
      'runs.start': () => ({ method: 'byol', datasetId: demo, config: hostileConfig('pretrain') }),
      'runs.validateFinetune': () => ({
        init: 'random',
        trainDatasetId: demo,
        valDatasetId: demo,
        config: {},
      }),
      'runs.startFinetune': () => ({
        init: 'random',
        trainDatasetId: demo,
        valDatasetId: demo,
        config: hostileConfig('finetune'),
      }),
      'runs.pause': () => ({ id: runId }),
      'runs.resume': () => ({ id: runId }),
      'runs.cancel': () => ({ id: runId }),
      'runs.delete': () => ({ id: runId }),
      'runs.progress': () => ({}),
      'runs.predictions': () => ({ id: runId, index: 0, size: 128 }),
      'metrics.get': () => ({ runId, keys: ['loss/total'], maxPoints: 100 }),
      'metrics.compare': () => ({ runIds: [runId] }),
      'metrics.csv': () => ({ runIds: [runId] }),
      'transport.images': () => ({ runId, offset: 0, limit: 4 }),
      'transport.compute': () => ({ runId, imageIndex: 0, seed: 1 }),
      'exports.run': () => ({ runId, format: 'safetensors', outPath: path.join(chosen, 'out.safetensors') }),
      'exports.list': () => ({ runId }),
      'exports.defaultPath': () => ({ runId, format: 'tfjs' }),
      // a relative val path is refused before anything is recorded or trained: the fuzz starts no study
      'studies.list': () => ({}),
      'studies.get': () => ({ id: runId }),
      'studies.start': () => ({
        arms: ['random', 'byol'],
        seeds: 1,
        budget: 'smoke',
        data: { unlabeled: 'demo', train: 'demo', val: 'val.json' },
      }),
      'studies.estimate': () => ({
        arms: ['random', 'byol'],
        seeds: 1,
        budget: 'smoke',
        data: { unlabeled: 'demo', train: 'demo', val: 'val.json' },
      }),
      'studies.pause': () => ({ id: runId }),
      'studies.resume': () => ({ id: runId }),
      // a socket that is not there: the connection test answers at once, and checks the folder by access(2) only
      'clusters.list': () => ({}),
      'clusters.save': () => ({
        name: 'fuzz-cluster',
        endpoint: `unix:${path.join(chosen, 'no-slurmrestd.socket')}`,
        apiVersion: 'v0.0.38',
        user: 'nobody',
        token: 'fuzz-token',
        timeLimitMinutes: 10,
        cpusPerTask: 1,
        memoryMb: 512,
        sharedFolder: chosen,
        nodeCommand: 'node selfemd.mjs',
      }),
      'clusters.test': () => ({ name: 'fuzz-cluster' }),
      'clusters.remove': () => ({ name: 'fuzz-cluster' }),
    };

    let digest = storeDigest(db);
    for (let round = 0; round < opts.calls; round++) {
      for (const method of METHOD_NAMES) {
        // Deleting the target would leave nothing to aim at: those two only ever get hostile input.
        const mayBeValid = method !== 'runs.delete' && method !== 'datasets.delete';
        let args: unknown;
        const roll = rng.next();
        if (roll < 0.1) args = pick([null, [], 'args', 42, undefined, [templates[method]()]]);
        else {
          const a = templates[method]();
          const fields = Object.keys(METHOD_ARGS[method]);
          const n = fields.length === 0 ? 0 : 1 + rng.int(Math.min(2, fields.length));
          for (let i = 0; i < n; i++) {
            const f = pick(fields);
            if (f === 'config') a[f] = hostileConfig(method.includes('inetune') ? 'finetune' : 'pretrain');
            // Half the time a value of the template's own type, which passes the type check and
            // reaches the handler: a traversal for a path, a huge index for a number.
            else a[f] = rng.next() < 0.5 ? sameType(a[f]) : hostile(rng);
          }
          if (!mayBeValid && n === 0) a.id = 'x'.repeat(65);
          // An own property, as JSON.parse and structured clone make it (`a.__proto__ =` would set the prototype).
          if (roll > 0.9)
            Object.defineProperty(a, pick(['extra', '__proto__', 'constructor', '']), {
              value: hostile(rng),
              enumerable: true,
            });
          args = a;
        }
        calls++;
        const started = performance.now();
        // The studio must keep answering while a call works: the longest the event loop went unserved.
        let lag = 0;
        let tick = performance.now();
        const monitor = setInterval(() => {
          const now = performance.now();
          lag = Math.max(lag, now - tick - 10);
          tick = now;
        }, 10);
        let timer: NodeJS.Timeout | undefined;
        const answer = await Promise.race([
          service.handle(method, args),
          new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
        ]);
        clearTimeout(timer);
        clearInterval(monitor);
        lag = Math.max(lag, performance.now() - tick - 10);
        const ms = performance.now() - started;
        const shown = short(args);
        if (ms > slowest.ms) slowest = { method, ms, args: shown };
        const finding = (problem: string) => {
          findings.push({ method, args: shown, problem });
          opts.log?.(`${method} ${shown}: ${problem}`);
        };
        if (lag > MAX_LAG_MS) finding(`the event loop went unserved for ${lag.toFixed(0)} ms`);
        if (answer === 'timeout') {
          finding(`no answer within ${timeoutMs / 1000} s`);
          continue;
        }
        if (typeof answer !== 'object' || answer === null || typeof answer.ok !== 'boolean') {
          finding('not an envelope');
          continue;
        }
        const after = storeDigest(db);
        if (answer.ok) {
          accepted++;
          digest = after;
          // A run the fuzz started ends at once (exitingSpawner); let it, so the next call sees it.
          for (const r of service.store.listRuns({ status: 'running' })) await service.manager.wait(r.id);
          digest = storeDigest(db);
          continue;
        }
        const e = answer.error;
        refused[e.code] = (refused[e.code] ?? 0) + 1;
        if (!API_CODES.includes(e.code)) finding(`refused with code ${e.code}: ${e.message.slice(0, 200)}`);
        if (typeof e.message !== 'string' || e.message.trim() === '') finding('refused without a message');
        else if (e.message.length > 2000)
          finding(`a ${e.message.length}-character message (it echoes the input)`);
        if (e.code === 'invalid') {
          const fields = Object.keys(METHOD_ARGS[method]);
          const named =
            (e.issues ?? []).some((i) => /^(args|config)(\.|$)/.test(i.path) || fields.includes(i.path)) ||
            /\bargs\.\w+|\bconfig\.\w+/.test(e.message);
          if (!named) finding(`invalid without naming the field: ${e.message.slice(0, 200)}`);
        }
        if (after !== digest) {
          finding(`the store changed although the call was refused (${e.code}: ${e.message.slice(0, 120)})`);
          digest = after;
        }
      }
    }
  } finally {
    await service.close();
  }
  const writtenOutside = changed(outsideBefore, watchedOutside());
  for (const [d, before] of systemBefore)
    if (listing(d) !== before) writtenOutside.push(`the listing of ${d} changed`);
  fs.rmSync(work, { recursive: true, force: true });
  return {
    calls,
    methods: METHOD_NAMES.length,
    accepted,
    refused,
    findings,
    writtenOutside,
    slowest,
    seconds: (performance.now() - t0) / 1000,
  };
}
