/**
 * Checkpoints: a folder holding `manifest.json` (JSON state + tensor index) and `tensors.bin`
 * (float32, little-endian, concatenated). Written into a temporary folder and renamed into
 * place, so a process killed mid-write never leaves a half checkpoint that looks complete.
 * The manifest records the sha256 of tensors.bin and of its own content, so a file damaged on
 * disk afterwards (truncated, a flipped byte) is detected on load instead of resuming from garbage.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileDurable } from '../disk-write';

export const CHECKPOINT_FORMAT = 'selfemd-checkpoint/2';
/** Written before checksums were recorded: loaded without verification. */
const CHECKPOINT_FORMAT_V1 = 'selfemd-checkpoint/1';
/** Suffix of a damaged checkpoint's folder once resume has set it aside (kept for inspection, never listed). */
export const DAMAGED_SUFFIX = '.damaged';

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

interface Manifest<S> {
  format: string;
  state: S;
  tensors: TensorEntry[];
  /** sha256 (hex) of tensors.bin (format 2 on). */
  tensorsSha256?: string;
  /** sha256 (hex) of JSON.stringify of this object without this field (format 2 on). */
  manifestSha256?: string;
}

/** A checkpoint whose files do not match what was written (truncated, altered, unreadable). */
export class DamagedCheckpointError extends Error {
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(`checkpoint ${dir} is damaged: ${reason}`);
    this.name = 'DamagedCheckpointError';
  }
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

export interface LoadedCheckpoint<S> {
  dir: string;
  state: S;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** Writes tensors + state atomically into `<root>/step-XXXXXXXX`; returns the folder and its size in bytes. */
export async function saveCheckpoint<S>(
  root: string,
  step: number,
  tensors: Map<string, tf.Tensor>,
  state: S,
): Promise<{ dir: string; bytes: number }> {
  fs.mkdirSync(root, { recursive: true });
  const final = path.join(root, checkpointDirName(step));
  const tmp = `${final}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);

  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32')
      throw new Error(`checkpoint: tensor ${name} is ${t.dtype}, only float32 is stored`);
    const data = (await t.data()) as Float32Array;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, shape: t.shape.slice(), offset, length: data.length });
    chunks.push(Buffer.from(buf)); // copy: the backend may reuse the memory
    offset += buf.byteLength;
  }
  const blob = Buffer.concat(chunks);
  try {
    writeFileDurable(path.join(tmp, 'tensors.bin'), blob);
    const body: Manifest<S> = {
      format: CHECKPOINT_FORMAT,
      state,
      tensors: entries,
      tensorsSha256: sha256(blob),
    };
    const manifest = { ...body, manifestSha256: sha256(JSON.stringify(body)) };
    writeFileDurable(path.join(tmp, 'manifest.json'), JSON.stringify(manifest));
  } catch (e) {
    // A failed write (a full disk) must not leave a half folder holding the space it lacked.
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }

  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  return { dir: final, bytes: blob.byteLength };
}

/** Reads and verifies a checkpoint; throws DamagedCheckpointError when its files are not as written. */
export function loadCheckpoint<S>(dir: string): LoadedCheckpoint<S> {
  const manifestPath = path.join(dir, 'manifest.json');
  let manifest: Manifest<S>;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest<S>;
  } catch (e) {
    throw new DamagedCheckpointError(dir, `cannot read manifest.json (${(e as Error).message})`);
  }
  const versioned = manifest.format === CHECKPOINT_FORMAT;
  if (!versioned && manifest.format !== CHECKPOINT_FORMAT_V1)
    throw new Error(`checkpoint ${manifestPath}: unknown format ${JSON.stringify(manifest.format)}`);
  if (versioned) {
    const { manifestSha256, ...body } = manifest;
    if (manifestSha256 !== sha256(JSON.stringify(body)))
      throw new DamagedCheckpointError(dir, 'manifest.json does not match its recorded checksum');
  }
  let bin: Buffer;
  try {
    bin = fs.readFileSync(path.join(dir, 'tensors.bin'));
  } catch (e) {
    throw new DamagedCheckpointError(dir, `cannot read tensors.bin (${(e as Error).message})`);
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of manifest.tensors) {
    const end = e.offset + e.length * 4;
    if (end > bin.byteLength) throw new DamagedCheckpointError(dir, `tensors.bin is truncated at ${e.name}`);
    // Copy into an aligned buffer: Float32Array views need 4-byte alignment.
    const data = new Float32Array(e.length);
    new Uint8Array(data.buffer).set(bin.subarray(e.offset, end));
    tensors.set(e.name, { shape: e.shape, data });
  }
  if (versioned && manifest.tensorsSha256 !== sha256(bin))
    throw new DamagedCheckpointError(
      dir,
      `tensors.bin (${bin.byteLength} bytes) does not match its recorded checksum`,
    );
  return { dir, state: manifest.state, tensors };
}

/** Complete checkpoints under `root`, oldest first (temporary folders of interrupted writes are ignored). */
export function listCheckpoints(root: string): { step: number; dir: string }[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((name) => /^step-(\d{8})$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: path.join(root, m[0]) }))
    .filter((c) => fs.existsSync(path.join(c.dir, 'manifest.json')))
    .sort((a, b) => a.step - b.step);
}

/** How a training loop starts: afresh, or from a checkpoint in its run folder. */
export interface ResumeOptions {
  /** Continue from a checkpoint in the run folder (error if there is none). */
  resume?: boolean;
  /** With `resume`: the step of the last checkpoint the supervisor recorded (see resumeCheckpoint). */
  resumeStep?: number;
}

/**
 * Loads the checkpoint a resumed run continues from. Without `atStep`, the newest on disk. With it (the
 * step of the last checkpoint the supervisor recorded), exactly that one, and newer ones on disk are
 * removed (and said through `log`): a training process whose supervisor died goes on to checkpoint
 * before it stops, but its metrics for those steps never reached the record, so the run must repeat
 * them, not skip them.
 * A damaged checkpoint (see loadCheckpoint) is renamed to `<folder>.damaged` (kept for inspection,
 * never listed again) and the next older one is tried, said through `log`; the run then repeats the
 * steps after the one it falls back to. A recorded checkpoint that is simply missing is an error.
 */
export function resumeCheckpoint<S>(
  root: string,
  atStep?: number,
  log?: (message: string) => void,
): LoadedCheckpoint<S> {
  const all = listCheckpoints(root);
  let candidates = all;
  if (atStep !== undefined) {
    const setAside = fs.existsSync(path.join(root, checkpointDirName(atStep) + DAMAGED_SUFFIX));
    if (!all.some((c) => c.step === atStep) && !setAside) {
      const onDisk = all.map((c) => c.step).join(', ') || 'none';
      throw new Error(
        `cannot resume: the checkpoint of step ${atStep} is not in ${root} (on disk: ${onDisk})`,
      );
    }
    if (setAside)
      log?.(`the checkpoint of step ${atStep} was set aside as damaged earlier; looking for an older one`);
    const newer = all.filter((c) => c.step > atStep);
    for (const c of newer) fs.rmSync(c.dir, { recursive: true, force: true });
    if (newer.length > 0)
      log?.(
        `discarded checkpoint(s) of step ${newer.map((c) => c.step).join(', ')}: written after the last one recorded`,
      );
    candidates = all.filter((c) => c.step <= atStep);
  }
  const damaged: number[] = [];
  for (const c of [...candidates].reverse()) {
    try {
      const loaded = loadCheckpoint<S>(c.dir);
      if (damaged.length > 0)
        log?.(`falling back to the checkpoint of step ${c.step}: the newer one(s) are damaged`);
      return loaded;
    } catch (e) {
      if (!(e instanceof DamagedCheckpointError)) throw e;
      const aside = setAsideDamaged(c.dir);
      damaged.push(c.step);
      log?.(`${e.message}; moved to ${aside}`);
    }
  }
  const why = damaged.length > 0 ? ` (damaged: step ${damaged.join(', ')})` : '';
  throw new Error(`cannot resume: no usable checkpoint in ${root}${why}`);
}

/** Renames a damaged checkpoint folder out of the listing, keeping it; returns its new path. */
function setAsideDamaged(dir: string): string {
  let aside = dir + DAMAGED_SUFFIX;
  for (let i = 2; fs.existsSync(aside); i++) aside = `${dir}${DAMAGED_SUFFIX}-${i}`;
  fs.renameSync(dir, aside);
  return aside;
}

/** Keeps the newest `keep` checkpoints; removes older ones and leftovers of interrupted writes. */
export function pruneCheckpoints(root: string, keep: number): void {
  const all = listCheckpoints(root);
  for (const c of all.slice(0, Math.max(0, all.length - keep)))
    fs.rmSync(c.dir, { recursive: true, force: true });
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    if (name.includes('.tmp-')) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/** Copies stored values into existing variables, checking that names and shapes agree. */
export function restoreVariables(
  loaded: LoadedCheckpoint<unknown>,
  prefix: string,
  vars: Map<string, tf.Variable>,
): void {
  for (const [name, v] of vars) {
    const key = prefix + name;
    const t = loaded.tensors.get(key);
    if (!t) throw new Error(`checkpoint ${loaded.dir}: missing tensor ${key}`);
    if (t.shape.join('x') !== v.shape.join('x'))
      throw new Error(
        `checkpoint ${loaded.dir}: ${key} has shape [${t.shape}] but the model expects [${v.shape}]`,
      );
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
  }
}
