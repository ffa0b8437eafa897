/**
 * The safetensors container (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{"__metadata__": {str: str}, "<name>": {"dtype", "shape", "data_offsets": [b, e]}}`
 * padded with spaces so the data starts 8-byte aligned, then the raw little-endian tensor bytes,
 * offsets relative to the start of the data, contiguous, no holes.
 */
import { endianness } from 'node:os';
import { readFile } from 'node:fs/promises';
import { writeFileDurable } from '../disk-write';

export type SafetensorsTensor =
  | { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }
  | { name: string; dtype: 'I64'; shape: number[]; data: BigInt64Array };

export type SafetensorsDtype = SafetensorsTensor['dtype'];

export interface SafetensorsContents {
  /** Tensors by name, in file order. */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, I64: 8 };
/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length otherwise allocates GBs). */
const MAX_HEADER_BYTES = 100_000_000;

function assertLittleEndianHost(): void {
  // Typed arrays use the host's byte order; the format is little-endian.
  if (endianness() !== 'LE') throw new Error('safetensors: big-endian hosts are not supported');
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodeSafetensors(
  tensors: readonly SafetensorsTensor[],
  metadata: Record<string, string> = {},
): Uint8Array {
  assertLittleEndianHost();
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__')
      throw new Error('safetensors: "__metadata__" is reserved and cannot name a tensor');
    if (seen.has(t.name)) throw new Error(`safetensors: duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    if (!(t.dtype in BYTES))
      throw new Error(`safetensors: tensor "${t.name}" has unsupported dtype ${String(t.dtype)}`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`safetensors: tensor "${t.name}" has an invalid shape [${t.shape.join(', ')}]`);
    }
    if (t.data.length !== numel(t.shape)) {
      throw new Error(
        `safetensors: tensor "${t.name}" has ${t.data.length} values but shape [${t.shape.join(', ')}]`,
      );
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata "${k}" must be a string`);
  }
  // As the reference writer: larger alignment first (I64 before F32) so every tensor starts
  // aligned to its element size once the header is 8-aligned; then by name.
  const ordered = [...tensors].sort(
    (a, b) => BYTES[b.dtype] - BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of ordered) {
    const size = t.data.length * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const t of ordered) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  return out;
}

/** `source` names the file in error messages. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): SafetensorsContents {
  assertLittleEndianHost();
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  if (bytes.byteLength < 8) fail(`too short for a safetensors file (${bytes.byteLength} bytes)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.byteLength)
    fail(`header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes)`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(8, 8 + headerLength));
  if (!text.startsWith('{')) fail('header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    return fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] =
    [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) fail('"__metadata__" is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata "${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(`tensor "${name}": entry is not an object`);
    if (info.dtype !== 'F32' && info.dtype !== 'I64')
      fail(`tensor "${name}": unsupported dtype ${JSON.stringify(info.dtype)} (F32 and I64 are supported)`);
    const dtype = info.dtype as SafetensorsDtype;
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor "${name}": invalid shape ${JSON.stringify(info.shape)}`);
    }
    const shape = info.shape as number[];
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0)
    ) {
      return fail(`tensor "${name}": invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLength)
      fail(`tensor "${name}": data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data section`);
    const expected = numel(shape) * BYTES[dtype];
    if (end - begin !== expected)
      fail(
        `tensor "${name}": ${end - begin} bytes for ${dtype} shape [${shape.join(', ')}] (expected ${expected})`,
      );
    entries.push({ name, dtype, shape, begin, end });
  }
  // The format forbids holes and overlaps: sorted by offset, the tensors tile the data section.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of byOffset) {
    if (e.begin !== cursor)
      fail(
        `tensor "${e.name}" starts at ${e.begin}, expected ${cursor} (overlap or hole in the data section)`,
      );
    cursor = e.end;
  }
  if (cursor !== dataLength)
    fail(`data section has ${dataLength - cursor} trailing bytes not covered by any tensor`);

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of byOffset) {
    // Copy: the slice may not be aligned for a typed-array view, and callers may keep it.
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end);
    tensors.set(
      e.name,
      e.dtype === 'F32'
        ? {
            name: e.name,
            dtype: 'F32',
            shape: e.shape,
            data: new Float32Array(copy.buffer, 0, copy.byteLength / 4),
          }
        : {
            name: e.name,
            dtype: 'I64',
            shape: e.shape,
            data: new BigInt64Array(copy.buffer, 0, copy.byteLength / 8),
          },
    );
  }
  return { tensors, metadata };
}

export async function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsTensor[],
  metadata: Record<string, string> = {},
): Promise<void> {
  // Durable: a full disk is a DiskFullError naming the folder, and leaves no truncated file.
  writeFileDurable(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  const bytes = await readFile(path);
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
