/**
 * Hand-built PyTorch files for the reader's hostile-input tests: the pickle opcodes torch.save writes
 * (protocol 2) and a zip writer with the variants the reader must take (stored or deflated entries,
 * data descriptors, zip64 records). Bytes are written the way the formats say; what torch itself
 * writes is checked against its own files in torch-file.test.ts.
 */
import { deflateRawSync } from 'node:zlib';

type Bytes = Uint8Array | number[];

export const cat = (...parts: Bytes[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const le = (bytes: number, v: number | bigint): Uint8Array => {
  const b = new Uint8Array(bytes);
  const d = new DataView(b.buffer);
  if (bytes === 2) d.setUint16(0, Number(v), true);
  else if (bytes === 4) d.setUint32(0, Number(v) >>> 0, true);
  else d.setBigUint64(0, BigInt(v), true);
  return b;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Pickle opcodes (protocol 2), each as bytes. */
export const op = {
  proto: [0x80, 2],
  stop: [0x2e],
  mark: [0x28],
  tuple: [0x74],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  setitems: [0x75],
  append: [0x61],
  dup: [0x32],
  reduce: [0x52],
  build: [0x62],
  binpersid: [0x51],
  newfalse: [0x89],
  str: (s: string) => cat([0x58], le(4, utf8(s).length), utf8(s)),
  int: (n: number) => {
    const b = new Uint8Array(5);
    b[0] = 0x4a;
    new DataView(b.buffer).setInt32(1, n, true);
    return b;
  },
  global: (module: string, name: string) => cat([0x63], utf8(`${module}\n${name}\n`)),
};

export interface TensorSpec {
  name: string;
  /** torch's storage class, e.g. FloatStorage. */
  storage: string;
  key: string;
  numel: number;
  offset: number;
  size: number[];
  stride: number[];
}

/** `torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
export function tensorOps(t: TensorSpec): Uint8Array {
  return cat(
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark,
    ...[op.mark, op.str('storage'), op.global('torch', t.storage), op.str(t.key), op.str('cpu')],
    ...[op.int(t.numel), op.tuple, op.binpersid],
    op.int(t.offset),
    ...[op.mark, ...t.size.map(op.int), op.tuple],
    ...[op.mark, ...t.stride.map(op.int), op.tuple],
    op.newfalse,
    ...[op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce],
    op.tuple,
    op.reduce,
  );
}

/** data.pkl of a dict of tensors (torch.save(state_dict) as torch 1.13 writes it, minus the memo). */
export function stateDictPickle(tensors: TensorSpec[]): Uint8Array {
  return cat(
    op.proto,
    op.emptyDict,
    op.mark,
    ...tensors.flatMap((t) => [op.str(t.name), tensorOps(t)]),
    op.setitems,
    op.stop,
  );
}

export interface ZipFileEntry {
  name: string;
  data: Uint8Array;
  /** 0 stored (torch's choice), 8 deflated. */
  method?: 0 | 8;
  /** The size the directory declares (default: the data's); a zip bomb declares less. */
  declaredSize?: number;
}

export interface ZipOptions {
  /** Sizes and offsets only in zip64 extra fields, and the zip64 end records (as for files ≥ 4 GiB). */
  zip64?: boolean;
  /** Local headers without sizes, a data descriptor after each entry's data (streaming writers). */
  dataDescriptors?: boolean;
}

/** A zip archive of `entries` (CRCs left 0: the reader does not check them). */
export function zipOf(entries: ZipFileEntry[], o: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const sat = (v: number) => (o.zip64 ? 0xffffffff : v);
  for (const e of entries) {
    const method = e.method ?? 0;
    const body = method === 8 ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const size = e.declaredSize ?? e.data.length;
    const name = utf8(e.name);
    const flags = o.dataDescriptors ? 8 : 0;
    const local = cat(
      le(4, 0x04034b50),
      le(2, 20),
      le(2, flags),
      le(2, method),
      le(4, 0),
      le(4, 0), // crc
      le(4, o.dataDescriptors ? 0 : body.length),
      le(4, o.dataDescriptors ? 0 : size),
      le(2, name.length),
      le(2, 0),
      name,
    );
    const descriptor = o.dataDescriptors
      ? cat(le(4, 0x08074b50), le(4, 0), le(4, body.length), le(4, size))
      : new Uint8Array(0);
    const extra = o.zip64 ? cat(le(2, 1), le(2, 24), le(8, size), le(8, body.length), le(8, offset)) : [];
    central.push(
      cat(
        le(4, 0x02014b50),
        le(2, 45),
        le(2, 45),
        le(2, flags),
        le(2, method),
        le(4, 0),
        le(4, 0),
        le(4, sat(body.length)),
        le(4, sat(size)),
        le(2, name.length),
        le(2, extra.length),
        le(2, 0),
        le(2, 0),
        le(2, 0),
        le(4, 0),
        le(4, sat(offset)),
        name,
        extra,
      ),
    );
    parts.push(local, body, descriptor);
    offset += local.length + body.length + descriptor.length;
  }
  const cd = cat(...central);
  const cdOffset = offset;
  const tail: Uint8Array[] = [];
  if (o.zip64) {
    const rec = cat(
      le(4, 0x06064b50),
      le(8, 44),
      le(2, 45),
      le(2, 45),
      le(4, 0),
      le(4, 0),
      le(8, entries.length),
      le(8, entries.length),
      le(8, cd.length),
      le(8, cdOffset),
    );
    tail.push(rec, cat(le(4, 0x07064b50), le(4, 0), le(8, cdOffset + cd.length), le(4, 1)));
  }
  const count = o.zip64 ? 0xffff : entries.length;
  tail.push(
    cat(
      le(4, 0x06054b50),
      le(2, 0),
      le(2, 0),
      le(2, count),
      le(2, count),
      le(4, sat(cd.length)),
      le(4, sat(cdOffset)),
      le(2, 0),
    ),
  );
  return cat(...parts, cd, ...tail);
}

/** A torch.save zip: `archive/data.pkl`, the storages as `archive/data/<key>`, and `archive/byteorder`. */
export function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array>,
  o: ZipOptions & { byteorder?: 'little' | 'big'; method?: 0 | 8 } = {},
): Uint8Array {
  return zipOf(
    [
      { name: 'archive/data.pkl', data: pkl, method: o.method },
      ...(o.byteorder ? [{ name: 'archive/byteorder', data: utf8(o.byteorder), method: o.method }] : []),
      ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data, method: o.method })),
    ],
    o,
  );
}

/** `values` as a storage's bytes in either byte order. */
export function storageBytes(kind: 'f32' | 'f16' | 'i64', values: number[], littleEndian = true): Uint8Array {
  const size = kind === 'f32' ? 4 : kind === 'f16' ? 2 : 8;
  const b = new Uint8Array(values.length * size);
  const d = new DataView(b.buffer);
  values.forEach((v, i) => {
    if (kind === 'f32') d.setFloat32(i * size, v, littleEndian);
    else if (kind === 'f16') d.setUint16(i * size, halfBits(v), littleEndian);
    else d.setBigInt64(i * size, BigInt(v), littleEndian);
  });
  return b;
}

/** float16 bits of a value float16 holds exactly (the tests use such values only). */
function halfBits(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const exp = Math.floor(Math.log2(a));
  const frac = Math.round((a / 2 ** exp - 1) * 1024);
  return sign | ((exp + 15) << 10) | frac;
}
