/**
 * Reads a PyTorch state dict from a `.pth` / `.pt` file without Python — torchvision's ImageNet
 * weights as users have them. No maintained npm package reads PyTorch files (`pickleparser` only
 * unpickles, with no zip or storage handling), so this is a reader limited to state dicts:
 *
 * - Formats: torch.save's zip (torch ≥ 1.6: `<root>/data.pkl`, a protocol-2 pickle whose tensors are
 *   persistent ids of storages in `<root>/data/<key>`, and `<root>/byteorder` when not little-endian)
 *   and the legacy format (torch < 1.6, `_use_new_zipfile_serialization=False`: five pickles in a row —
 *   magic, protocol, sys_info, the object, the storage keys — then each storage as an int64 count and
 *   its bytes). The pre-0.4 tar format is refused, naming it.
 * - Contents: a dict (OrderedDict) of tensors, also one level down under `state_dict` or `model` (the
 *   way training scripts save checkpoints); tensors of any shape, strides and storage offset (views are
 *   copied out contiguous), saved as tensors (`_rebuild_tensor_v2`) or parameters (`_rebuild_parameter`).
 *   Other values (an epoch number, optimizer state) are skipped and named in `skipped`. Any other class
 *   in the pickle — a whole pickled nn.Module, a numpy array — is an error naming it: nothing in the
 *   file is ever run.
 * - dtypes: float32 as it is; float16 and bfloat16 widened to float32 exactly; float64 rounded to
 *   float32; int64 as it is; int32 / int16 / int8 / uint8 / bool widened to int64. Others (complex,
 *   quantized) are an error naming the tensor.
 *
 * The result is the safetensors reader's shape (SafetensorsContents), so both file kinds load through
 * one path (engine/export/torch-state-dict.ts).
 */
import { endianness } from 'node:os';
import { globalName, isPyGlobal, unpickle, type PickleHooks, type PyGlobal } from './pickle';
import type { SafetensorsContents, SafetensorsTensor } from './safetensors';
import { fileSource, isZip, readZipEntry, zipEntries, type ByteSource, type ZipEntry } from './zip-entries';

/** Storage classes by element: bytes per element and how a value widens. */
const STORAGES: Record<string, { bytes: number; kind: 'f32' | 'f16' | 'bf16' | 'f64' | 'int' }> = {
  FloatStorage: { bytes: 4, kind: 'f32' },
  HalfStorage: { bytes: 2, kind: 'f16' },
  BFloat16Storage: { bytes: 2, kind: 'bf16' },
  DoubleStorage: { bytes: 8, kind: 'f64' },
  LongStorage: { bytes: 8, kind: 'int' },
  IntStorage: { bytes: 4, kind: 'int' },
  ShortStorage: { bytes: 2, kind: 'int' },
  CharStorage: { bytes: 1, kind: 'int' },
  ByteStorage: { bytes: 1, kind: 'int' },
  BoolStorage: { bytes: 1, kind: 'int' },
};

interface StorageRef {
  readonly kind: 'storage';
  key: string;
  type: string;
  /** Elements of the storage. */
  numel: number;
  /** Legacy views: the element offset into the root storage. */
  viewOffset: number;
}

interface TensorRef {
  readonly kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** An element offset or count: a whole number ≥ 0 (a negative one would read before the storage). */
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

const isTensorRef = (v: unknown): v is TensorRef =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'tensor';

/** A tensor's name, shape and source dtype without its values (what the architecture check needs). */
export interface TorchTensorInfo {
  name: string;
  shape: number[];
  /** torch's storage class, e.g. FloatStorage. */
  storage: string;
}

export interface TorchStateDictHeader {
  tensors: TorchTensorInfo[];
  /** Non-tensor entries and wrapper keys left out (`epoch`, `optimizer`, …). */
  skipped: string[];
  /** `legacy` (torch < 1.6) or `zip`. */
  format: 'zip' | 'legacy';
}

export interface TorchStateDict extends SafetensorsContents {
  skipped: string[];
  format: 'zip' | 'legacy';
}

const shapeOf = (v: unknown, what: string, fail: (m: string) => never): number[] => {
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0))
    return fail(`${what} is not a tuple of sizes`);
  return v as number[];
};

/**
 * The hooks that turn torch's pickle into storage and tensor references, refusing anything else.
 * `storageTypes` collects every storage the pickle names, tensors of the state dict or not (the
 * legacy format's storage records carry no type, so each is sized from it).
 */
function torchHooks(source: string, legacy: boolean, storageTypes = new Map<string, string>()): PickleHooks {
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  const known = (g: unknown): string =>
    isPyGlobal(g) ? globalName(g) : fail('calls something that is not a class');
  return {
    call(callable, args) {
      const name = known(callable);
      switch (name) {
        case 'collections.OrderedDict':
          return new Map();
        case 'torch._utils._rebuild_tensor':
        case 'torch._utils._rebuild_tensor_v2': {
          const [storage, offset, size, stride] = args;
          if (typeof storage !== 'object' || (storage as StorageRef | null)?.kind !== 'storage')
            fail(`${name} without a storage`);
          if (!isIndex(offset)) fail(`${name}: storage offset ${String(offset)} is not a whole number ≥ 0`);
          return {
            kind: 'tensor',
            storage: storage as StorageRef,
            offset: offset as number,
            shape: shapeOf(size, 'a tensor size', fail),
            stride: shapeOf(stride, 'a tensor stride', fail),
          } satisfies TensorRef;
        }
        case 'torch._utils._rebuild_parameter':
        case 'torch._utils._rebuild_parameter_with_state':
          if (!isTensorRef(args[0])) fail(`${name} without a tensor`);
          return args[0];
        default:
          return fail(
            `holds a pickled ${name}; only state dicts (dicts of tensors) are read — save model.state_dict() instead`,
          );
      }
    },
    build(obj, state) {
      // OrderedDict's state is the state dict's `_metadata` (module versions): not needed to load it.
      if (obj instanceof Map) return obj;
      if (isTensorRef(obj)) return obj;
      // Named by kinds, not printed: the state may be cyclic or nested without end.
      return fail(`cannot restore ${describe(obj)} from ${describe(state)} (only state dicts are read)`);
    },
    persistentLoad(pid) {
      // zip: ('storage', StorageClass, key, location, numel); legacy adds view_metadata.
      if (!Array.isArray(pid) || pid[0] !== 'storage')
        return fail(`unknown persistent id ${String(Array.isArray(pid) ? pid[0] : pid)}`);
      const type = pid[1] as PyGlobal;
      if (!isPyGlobal(type) || type.module !== 'torch' || !(type.name in STORAGES))
        fail(`storage of type ${isPyGlobal(type) ? globalName(type) : String(type)} is not supported`);
      const numel = pid[4];
      if (typeof pid[2] !== 'string' || typeof numel !== 'number') fail('a storage id without key or size');
      // A legacy view's bytes are its root storage's (pid[2]), from the view's element offset on.
      const view = legacy ? (pid[5] as unknown[] | null) : null;
      const viewOffset = view ? (Array.isArray(view) ? view[1] : undefined) : 0;
      if (!isIndex(viewOffset))
        fail(`storage ${String(pid[2])}: view offset ${String(viewOffset)} is not a whole number ≥ 0`);
      storageTypes.set(pid[2] as string, type.name);
      return {
        kind: 'storage',
        key: pid[2] as string,
        type: type.name,
        numel: numel as number,
        viewOffset: viewOffset as number,
      } satisfies StorageRef;
    },
  };
}

/** What an unpickled value is, in Python's words, without printing it. */
function describe(v: unknown): string {
  if (isPyGlobal(v)) return globalName(v);
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Map) return 'a dict';
  if (v === null) return 'None';
  return `a ${typeof v === 'string' ? 'str' : typeof v}`;
}

/** The dict of tensors in the unpickled value: itself, or under `state_dict` / `model`. */
function findStateDict(
  value: unknown,
  source: string,
): { entries: [string, TensorRef][]; skipped: string[] } {
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  if (!(value instanceof Map)) return fail('does not hold a dict of tensors (a state dict)');
  const split = (m: Map<unknown, unknown>, prefix: string) => {
    const entries: [string, TensorRef][] = [];
    const skipped: string[] = [];
    for (const [k, v] of m) {
      if (typeof k !== 'string') fail(`has a non-string key ${String(k)}`);
      if (isTensorRef(v)) entries.push([k as string, v]);
      else skipped.push(prefix + String(k));
    }
    return { entries, skipped };
  };
  const top = split(value, '');
  if (top.entries.length > 0) return top;
  for (const key of ['state_dict', 'model']) {
    const inner = value.get(key);
    if (inner instanceof Map) {
      const found = split(inner, `${key}.`);
      if (found.entries.length > 0)
        return {
          entries: found.entries,
          skipped: [...top.skipped.filter((s) => s !== key), ...found.skipped],
        };
    }
  }
  return fail(
    `holds no tensors at its top level or under "state_dict" / "model" (keys: ${[...value.keys()].slice(0, 8).join(', ')})`,
  );
}

interface Parsed {
  entries: [string, TensorRef][];
  skipped: string[];
  format: 'zip' | 'legacy';
  /** A storage's bytes by key, in the file's byte order. */
  storageBytes: (ref: StorageRef) => Uint8Array;
  littleEndian: boolean;
}

const TAR_MAGIC_OFFSET = 257;

function parse(src: ByteSource, source: string): Parsed {
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  if (src.size === 0) fail('is empty');
  if (isZip(src)) {
    const entries = zipEntries(src, source);
    const pkl = [...entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (!pkl)
      fail(
        `is a zip archive without <root>/data.pkl: not a torch.save file (entries: ${[...entries.keys()].slice(0, 5).join(', ')})`,
      );
    const root = pkl!.name.slice(0, -'data.pkl'.length);
    const order = entries.get(`${root}byteorder`);
    const byteorder = order ? new TextDecoder().decode(readZipEntry(src, order, source)).trim() : 'little';
    if (byteorder !== 'little' && byteorder !== 'big')
      fail(`byteorder "${byteorder}" is neither little nor big`);
    const { value } = unpickle(
      readZipEntry(src, pkl!, source),
      torchHooks(source, false),
      `${source} (data.pkl)`,
    );
    const found = findStateDict(value, source);
    return {
      ...found,
      format: 'zip',
      littleEndian: byteorder === 'little',
      storageBytes: (ref) => {
        const entry: ZipEntry | undefined = entries.get(`${root}data/${ref.key}`);
        if (!entry) return fail(`storage ${ref.key} is missing (no ${root}data/${ref.key} in the archive)`);
        return readZipEntry(src, entry, source);
      },
    };
  }
  if (src.size > TAR_MAGIC_OFFSET + 5 && new TextDecoder().decode(src.read(TAR_MAGIC_OFFSET, 5)) === 'ustar')
    fail('is a tar archive (torch < 0.4 format): load it in PyTorch and save it again with torch.save');
  if (src.read(0, 1)[0] !== 0x80)
    fail('is neither a torch.save zip archive nor a legacy torch pickle (it does not start with one)');
  // Legacy: the whole file is needed (storages follow the pickles in order).
  const bytes = src.read(0, src.size);
  const plain: PickleHooks = {
    call: (c) => fail(`legacy header calls ${isPyGlobal(c) ? globalName(c) : 'something'}`),
    build: (o) => o,
    persistentLoad: () => fail('legacy header has a persistent id'),
  };
  const magic = unpickle(bytes, plain, source);
  if (magic.value !== 0x1950a86a20f9469cfc6cn)
    fail('is a pickle, but not a torch.save file (its magic number differs)');
  const protocol = unpickle(bytes, plain, source, magic.end);
  if (protocol.value !== 1001) fail(`legacy torch protocol ${String(protocol.value)} is not 1001`);
  const sysInfo = unpickle(bytes, plain, source, protocol.end);
  const info = sysInfo.value instanceof Map ? sysInfo.value : new Map();
  const littleEndian = info.get('little_endian') !== false;
  // Every storage the object names, a state dict's or not (a checkpoint's optimizer state has its
  // own): the records that follow are in the key list's order and each must be sized to step past it.
  const storageTypes = new Map<string, string>();
  const obj = unpickle(bytes, torchHooks(source, true, storageTypes), source, sysInfo.end);
  const keys = unpickle(bytes, plain, source, obj.end);
  if (!Array.isArray(keys.value)) fail('legacy storage key list is missing');
  const found = findStateDict(obj.value, source);
  const storages = new Map<string, Uint8Array>();
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = keys.end;
  for (const key of keys.value as unknown[]) {
    if (p + 8 > bytes.byteLength) fail(`storage ${String(key)} is missing (truncated file?)`);
    const type = storageTypes.get(String(key));
    if (!type) fail(`storage ${String(key)} is listed but not named in the pickle (cannot size it)`);
    const count = Number(d.getBigInt64(p, littleEndian));
    const size = count * STORAGES[type!]!.bytes;
    if (!(count >= 0) || p + 8 + size > bytes.byteLength)
      fail(`storage ${String(key)} (${count} elements) runs past the end of the file`);
    storages.set(String(key), bytes.subarray(p + 8, p + 8 + size));
    p += 8 + size;
  }
  return {
    ...found,
    format: 'legacy',
    littleEndian,
    storageBytes: (ref) => storages.get(ref.key) ?? fail(`storage ${ref.key} is missing`),
  };
}

/**
 * `read()`, with any error that does not yet name the file (a DataView read past a damaged
 * record's end, …) named with it: every refusal says which file.
 */
function naming<T>(source: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith(source)) throw e;
    throw new Error(`${source}: damaged or not a torch.save file (${message})`, { cause: e });
  }
}

/** Names, shapes and storage types only: reads data.pkl, not the tensors (the studio's file check). */
export function readTorchStateDictHeader(file: string): TorchStateDictHeader {
  const src = fileSource(file);
  try {
    const parsed = naming(file, () => parse(src, file));
    return {
      tensors: parsed.entries.map(([name, t]) => ({ name, shape: t.shape, storage: t.storage.type })),
      skipped: parsed.skipped,
      format: parsed.format,
    };
  } finally {
    src.close();
  }
}

/** The state dict's tensors, as safetensors' reader gives them (F32 / I64, contiguous, little-endian host). */
export function decodeTorchStateDict(src: ByteSource, source: string): TorchStateDict {
  return naming(source, () => decode(src, source));
}

function decode(src: ByteSource, source: string): TorchStateDict {
  if (endianness() !== 'LE') throw new Error(`${source}: big-endian hosts are not supported`);
  const parsed = parse(src, source);
  const tensors = new Map<string, SafetensorsTensor>();
  const cache = new Map<string, Uint8Array>();
  for (const [name, t] of parsed.entries) {
    const bytes = cache.get(t.storage.key) ?? parsed.storageBytes(t.storage);
    cache.set(t.storage.key, bytes);
    tensors.set(name, materialise(name, t, bytes, parsed.littleEndian, source));
  }
  return { tensors, metadata: {}, skipped: parsed.skipped, format: parsed.format };
}

export function readTorchStateDict(file: string): TorchStateDict {
  const src = fileSource(file);
  try {
    return decodeTorchStateDict(src, file);
  } finally {
    src.close();
  }
}

/** The most elements a tensor may have beyond its storage's (2^24: 64 MiB of float32). */
const MAX_REPEATED_ELEMENTS = 2 ** 24;

/** One tensor copied out of its storage: offset and strides applied, widened to F32 / I64. */
function materialise(
  name: string,
  t: TensorRef,
  bytes: Uint8Array,
  littleEndian: boolean,
  source: string,
): SafetensorsTensor {
  const spec = STORAGES[t.storage.type]!;
  const fail = (m: string): never => {
    throw new Error(`${source}: tensor "${name}": ${m}`);
  };
  if (t.shape.length !== t.stride.length)
    fail(`size [${t.shape.join(', ')}] and stride [${t.stride.join(', ')}] differ in rank`);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const base = t.storage.viewOffset + t.offset;
  const available = Math.floor(bytes.byteLength / spec.bytes);
  // Only overlapping strides (an expand()ed view) make more elements than the storage holds; a few
  // bytes of file could then ask for gigabytes.
  if (numel > available && numel > MAX_REPEATED_ELEMENTS)
    fail(
      `${numel} elements from a storage of ${available}: repeating a storage (zero strides) past ${MAX_REPEATED_ELEMENTS} elements is not read`,
    );
  if (numel > 0) {
    const last = base + t.shape.reduce((s, n, i) => s + (n - 1) * t.stride[i]!, 0);
    if (last >= available)
      fail(`reaches element ${last} of a storage of ${available} (${t.storage.type} ${t.storage.key})`);
  }
  const contiguous = t.shape.every(
    (_, i) => t.shape[i] === 1 || t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1),
  );
  if (contiguous && littleEndian && spec.kind === 'f32') {
    // The common case (torch.save of a contiguous float32 tensor): one copy, no per-element reads.
    const copy = bytes.slice(base * 4, (base + numel) * 4);
    return { name, dtype: 'F32', shape: [...t.shape], data: new Float32Array(copy.buffer, 0, numel) };
  }
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  // bfloat16 is the top half of a float32: widened through one scratch word, not one per element.
  const bf16Word = new DataView(new ArrayBuffer(4));
  const readers: Record<string, (i: number) => number | bigint> = {
    f32: (i) => d.getFloat32(i * 4, le),
    f64: (i) => d.getFloat64(i * 8, le),
    f16: (i) => halfToFloat(d.getUint16(i * 2, le)),
    bf16: (i) => {
      bf16Word.setUint32(0, d.getUint16(i * 2, le) << 16);
      return bf16Word.getFloat32(0);
    },
  };
  const intReader: Record<string, (i: number) => bigint> = {
    LongStorage: (i) => d.getBigInt64(i * 8, le),
    IntStorage: (i) => BigInt(d.getInt32(i * 4, le)),
    ShortStorage: (i) => BigInt(d.getInt16(i * 2, le)),
    CharStorage: (i) => BigInt(d.getInt8(i)),
    ByteStorage: (i) => BigInt(d.getUint8(i)),
    BoolStorage: (i) => BigInt(d.getUint8(i) ? 1 : 0),
  };
  // Element indices of the tensor in row-major order.
  const index = new Array<number>(numel);
  const dims = t.shape.length;
  const counter = new Array<number>(dims).fill(0);
  for (let k = 0; k < numel; k++) {
    let off = base;
    for (let j = 0; j < dims; j++) off += counter[j]! * t.stride[j]!;
    index[k] = off;
    for (let j = dims - 1; j >= 0; j--) {
      if (++counter[j]! < t.shape[j]!) break;
      counter[j] = 0;
    }
  }
  if (spec.kind === 'int') {
    const read = intReader[t.storage.type]!;
    return { name, dtype: 'I64', shape: [...t.shape], data: BigInt64Array.from(index, read) };
  }
  const read = readers[spec.kind]! as (i: number) => number;
  return { name, dtype: 'F32', shape: [...t.shape], data: Float32Array.from(index, read) };
}

/** IEEE 754 half → number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
