/**
 * What an exported backbone file holds, read from its header only (no tensors are loaded in the
 * studio's process): a safetensors file (torchvision names; `__metadata__` carries arch, baseWidth
 * and the run it came from) or a TF.js layers model (model.json's userDefinedMetadata, the same keys).
 * Both are what `exports.run` / `selfemd export` write.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WeightsFile {
  kind: 'safetensors' | 'tfjs';
  /** The file the fine-tune loads (model.json for a TF.js model given as its folder). */
  path: string;
  arch: string;
  baseWidth: number;
  /** The run it was exported from, when the file says so. */
  runId: string | null;
}

/** Safetensors headers beyond this are not an exported backbone's (a ResNet-50's is ~40 KB). */
const MAX_HEADER_BYTES = 16 * 2 ** 20;

/** The file's description, or a message saying why it cannot initialise a backbone. */
export function describeWeightsFile(p: string): WeightsFile | string {
  if (!path.isAbsolute(p)) return `${p}: give the absolute path of the exported file`;
  if (!fs.existsSync(p)) return `${p}: no such file or folder`;
  const modelJson = fs.statSync(p).isDirectory() ? path.join(p, 'model.json') : p;
  if (p.endsWith('.safetensors')) return fromSafetensors(p);
  if (path.basename(modelJson) === 'model.json' && fs.existsSync(modelJson)) return fromModelJson(modelJson);
  return `${p}: not an exported backbone (a .safetensors file, or a TF.js model.json or its folder)`;
}

function identity(
  file: string,
  kind: WeightsFile['kind'],
  meta: Record<string, unknown>,
): WeightsFile | string {
  const arch = typeof meta.arch === 'string' ? meta.arch : '';
  const baseWidth = Number(meta.baseWidth);
  if (!arch || !Number.isInteger(baseWidth) || baseWidth < 1)
    return `${file}: its metadata does not say which backbone it holds (arch, baseWidth); export it again with selfemd export`;
  const runId = typeof meta.run_id === 'string' ? meta.run_id : null;
  return { kind, path: file, arch, baseWidth, runId };
}

function fromSafetensors(file: string): WeightsFile | string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, head, 0, 8, 0) !== 8)
      return `${file}: too short to be a safetensors file`;
    const n = Number(head.readBigUInt64LE(0));
    if (n < 2 || n > MAX_HEADER_BYTES || 8 + n > size)
      return `${file}: not a safetensors file (header length ${n})`;
    const json = Buffer.alloc(n);
    fs.readSync(fd, json, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      return `${file}: its safetensors header is not JSON (${(e as Error).message})`;
    }
    return identity(file, 'safetensors', (header.__metadata__ ?? {}) as Record<string, unknown>);
  } finally {
    fs.closeSync(fd);
  }
}

function fromModelJson(file: string): WeightsFile | string {
  let model: { userDefinedMetadata?: Record<string, unknown> };
  try {
    model = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof model;
  } catch (e) {
    return `${file}: not valid JSON (${(e as Error).message})`;
  }
  return identity(file, 'tfjs', model.userDefinedMetadata ?? {});
}
