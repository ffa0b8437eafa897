/**
 * A minimal ZIP reader for what `torch.save` writes (PyTorch's PyTorchStreamWriter, miniz): the
 * central directory (zip64 included), entries stored (method 0, torch's choice, each 64-byte aligned)
 * or deflated (method 8, what re-zipping a checkpoint with a generic tool gives). It reads through a
 * ByteSource, so listing a file's entries and reading one small entry (data.pkl) never loads the
 * tensors. Not supported, with an error naming the file: encryption, multi-disk archives, other methods.
 * A deflated entry is inflated only up to the size the central directory declares.
 */
import * as fs from 'node:fs';
import { constants } from 'node:buffer';
import { inflateRawSync } from 'node:zlib';

/** Random access to a file's bytes (a file descriptor, or bytes in memory for tests). */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.byteLength, read: (o, n) => bytes.subarray(o, o + n) };
}

/** A file opened for random reads; close it when done. */
export function fileSource(file: string): ByteSource & { close(): void } {
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      const out = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return new Uint8Array(out.buffer, out.byteOffset, done);
    },
    close: () => fs.closeSync(fd),
  };
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;
const MAX_LENGTH = constants.MAX_LENGTH;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u64 = (d: DataView, at: number) => Number(d.getBigUint64(at, true));

/** True when the source starts with a local file header (what a torch.save zip does). */
export function isZip(src: ByteSource): boolean {
  return src.size >= 4 && view(src.read(0, 4)).getUint32(0, true) === LOCAL;
}

/** The archive's entries by name. */
export function zipEntries(src: ByteSource, source: string): Map<string, ZipEntry> {
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  const tailLength = Math.min(src.size, 22 + 0xffff);
  const tail = src.read(src.size - tailLength, tailLength);
  const td = view(tail);
  let at = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--)
    if (td.getUint32(i, true) === EOCD) {
      at = i;
      break;
    }
  if (at < 0) fail('not a zip archive (no end of central directory): truncated or not a torch.save file');
  if (td.getUint16(at + 4, true) !== 0 || td.getUint16(at + 6, true) !== 0)
    fail('multi-disk zip archives are not supported');
  let count = td.getUint16(at + 10, true);
  let cdSize = td.getUint32(at + 12, true);
  let cdOffset = td.getUint32(at + 16, true);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const locatorAt = src.size - tailLength + at - 20;
    if (locatorAt < 0) fail('zip64 locator missing');
    const loc = view(src.read(locatorAt, 20));
    if (loc.getUint32(0, true) !== ZIP64_LOCATOR) fail('zip64 locator missing');
    const recAt = u64(loc, 8);
    if (recAt + 56 > src.size) fail('zip64 end of central directory missing');
    const rec = view(src.read(recAt, 56));
    if (rec.getUint32(0, true) !== ZIP64_EOCD) fail('zip64 end of central directory missing');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > src.size)
    fail(`central directory runs past the end of the file (${src.size} bytes)`);
  const cd = src.read(cdOffset, cdSize);
  const d = view(cd);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || d.getUint32(p, true) !== CENTRAL)
      fail(`central directory entry ${i} is damaged`);
    if (d.getUint16(p + 8, true) & 1) fail('encrypted zip entries are not supported');
    const nameLength = d.getUint16(p + 28, true);
    const extraLength = d.getUint16(p + 30, true);
    const commentLength = d.getUint16(p + 32, true);
    const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLength));
    let compressedSize = d.getUint32(p + 20, true);
    let size = d.getUint32(p + 24, true);
    let localHeaderOffset = d.getUint32(p + 42, true);
    // zip64: the fields saturated at 0xFFFFFFFF are in extra field 0x0001, in this order.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
      const id = d.getUint16(e, true);
      const len = d.getUint16(e + 2, true);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === U32_MAX) {
          size = u64(d, f);
          f += 8;
        }
        if (compressedSize === U32_MAX) {
          compressedSize = u64(d, f);
          f += 8;
        }
        if (localHeaderOffset === U32_MAX) localHeaderOffset = u64(d, f);
      }
      e += 4 + len;
    }
    entries.set(name, { name, method: d.getUint16(p + 10, true), compressedSize, size, localHeaderOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** One entry's bytes (inflated when deflated). */
export function readZipEntry(src: ByteSource, entry: ZipEntry, source: string): Uint8Array {
  const fail = (problem: string): never => {
    throw new Error(`${source}: entry ${entry.name}: ${problem}`);
  };
  const local = view(src.read(entry.localHeaderOffset, 30));
  if (local.byteLength < 30 || local.getUint32(0, true) !== LOCAL) fail('local header is damaged');
  const start = entry.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  if (start + entry.compressedSize > src.size) fail('runs past the end of the file (truncated?)');
  const raw = src.read(start, entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method === 8) {
    // Inflation stops at the declared size: a few KiB of deflate can stand for gigabytes (a zip
    // bomb), which would otherwise all be allocated before the size check below.
    if (entry.size > MAX_LENGTH) fail(`declares ${entry.size} bytes, more than a buffer holds here`);
    let out: Buffer;
    try {
      out = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return fail(`inflates past the ${entry.size} bytes its directory declares (damaged, or a zip bomb)`);
      return fail(`does not inflate (${(e as Error).message})`);
    }
    if (out.byteLength !== entry.size) fail(`inflated to ${out.byteLength} bytes, expected ${entry.size}`);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return fail(`compression method ${entry.method} is not supported (stored and deflate are)`);
}
