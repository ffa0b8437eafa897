/**
 * What a backbone file holds, read from its header only (no tensors are loaded in the studio's
 * process): a safetensors file (torchvision names; `__metadata__` carries arch, baseWidth and the run
 * it came from when this studio exported it, else the architecture is read from its keys and shapes),
 * a TF.js layers model (model.json's userDefinedMetadata, the same keys), or a PyTorch state dict
 * (`.pth` / `.pt`: torchvision's ImageNet weights as users have them; its data.pkl is read for the
 * keys and shapes, not its tensors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTorchStateDictHeader } from '../../engine/export/torch-file';
import { detectArchitecture } from '../../engine/models/detect-architecture';

/** File endings read as a torch.save state dict. */
export const PYTORCH_WEIGHTS_EXTENSIONS = ['.pth', '.pt'] as const;

export interface WeightsFile {
  kind: 'safetensors' | 'tfjs' | 'pytorch';
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
  if ((PYTORCH_WEIGHTS_EXTENSIONS as readonly string[]).includes(path.extname(p))) return fromTorchFile(p);
  if (path.basename(modelJson) === 'model.json' && fs.existsSync(modelJson)) return fromModelJson(modelJson);
  return `${p}: not a backbone file (a .safetensors file, a PyTorch .pth / .pt state dict, or a TF.js model.json or its folder)`;
}

/** The architecture from torchvision names and torch shapes, or why not. */
function detected(
  file: string,
  kind: WeightsFile['kind'],
  shapes: Map<string, readonly number[]>,
): WeightsFile | string {
  try {
    const { name, baseWidth } = detectArchitecture(shapes, file);
    return { kind, path: file, arch: name, baseWidth, runId: null };
  } catch (e) {
    return (e as Error).message;
  }
}

function fromTorchFile(file: string): WeightsFile | string {
  let header;
  try {
    header = readTorchStateDictHeader(file);
  } catch (e) {
    return (e as Error).message;
  }
  return detected(file, 'pytorch', new Map(header.tensors.map((t) => [t.name, t.shape])));
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
    const meta = (header.__metadata__ ?? {}) as Record<string, unknown>;
    // Not this studio's export (torchvision weights converted to safetensors): read its keys and shapes.
    if (meta.arch === undefined) {
      const shapes = new Map<string, readonly number[]>();
      for (const [k, v] of Object.entries(header))
        if (k !== '__metadata__')
          shapes.set(k, ((v as { shape?: number[] } | null)?.shape ?? []) as number[]);
      return detected(file, 'safetensors', shapes);
    }
    return identity(file, 'safetensors', meta);
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
