/**
 * ParameterSets ↔ torch state_dict tensors. Our layouts are TF.js's (conv [kh, kw, in, out],
 * linear [in, out]); torch's are OIHW and [out, in]. Names are already torchvision's, so a
 * backbone written here loads into `torchvision.models.resnetXX()` with only fc.* missing.
 */
import * as tf from '@tensorflow/tfjs';
import { takeValues } from '../backend/take-values';
import type { MlpHead, DenseMlpHead } from '../models/heads';
import { batchNormNames } from '../models/parameter-set';
import type { Backbone, ParameterSet } from '../models/types';
import { readSafetensors, type SafetensorsContents, type SafetensorsTensor } from './safetensors';

/** How a rank-2 weight is held in torch: nn.Linear [out, in] or a 1×1 nn.Conv2d [out, in, 1, 1]. */
export type MatrixLayout = 'linear' | 'conv1x1';

function torchShape(tfShape: readonly number[], matrix: MatrixLayout): number[] {
  if (tfShape.length === 4) return [tfShape[3], tfShape[2], tfShape[0], tfShape[1]];
  if (tfShape.length === 2)
    return matrix === 'linear' ? [tfShape[1], tfShape[0]] : [tfShape[1], tfShape[0], 1, 1];
  return [...tfShape];
}

async function toTorchValues(v: tf.Variable): Promise<Float32Array> {
  const data = tf.tidy(() => {
    if (v.rank === 4) return tf.transpose(v, [3, 2, 0, 1]); // HWIO → OIHW
    if (v.rank === 2) return tf.transpose(v, [1, 0]); // [in, out] → [out, in] (then [.., 1, 1] is a free reshape)
    return v.clone();
  });
  // A copy: a clone shares the variable's storage, which the cpu backend hands out as it is.
  const [values] = await takeValues([data]);
  return new Float32Array(values!);
}

function fromTorchValues(values: Float32Array, tfShape: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    if (tfShape.length === 4) {
      const [kh, kw, i, o] = tfShape;
      return tf.transpose(tf.tensor4d(values, [o, i, kh, kw]), [2, 3, 1, 0]);
    }
    if (tfShape.length === 2) return tf.transpose(tf.tensor2d(values, [tfShape[1], tfShape[0]]), [1, 0]);
    return tf.tensor(values, [...tfShape], 'float32');
  });
}

/**
 * state_dict order: each module's parameters, then its buffers (running_mean, running_var,
 * num_batches_tracked). Buffers are emitted right after their BN's bias.
 */
export async function parameterSetToTorchTensors(
  set: ParameterSet,
  matrix: MatrixLayout = 'linear',
): Promise<SafetensorsTensor[]> {
  // The order first, then the values, read one at a time (one transposed copy alive at once).
  const order: ({ name: string; v: tf.Variable } | { name: string; tracked: number })[] = [];
  const emitted = new Set<string>();
  const emit = (name: string, v: tf.Variable) => {
    order.push({ name, v });
    emitted.add(name);
  };
  const emitBnBuffers = (bn: string) => {
    for (const b of ['running_mean', 'running_var']) {
      const name = `${bn}.${b}`;
      const v = set.buffers.get(name);
      if (v) emit(name, v);
    }
    order.push({ name: `${bn}.num_batches_tracked`, tracked: set.numBatchesTracked?.get(bn) ?? 0 });
  };
  for (const [name, v] of set.params) {
    emit(name, v);
    if (name.endsWith('.bias')) {
      const module = name.slice(0, -'.bias'.length);
      if (set.buffers.has(`${module}.running_mean`)) emitBnBuffers(module);
    }
  }
  for (const [name, v] of set.buffers) if (!emitted.has(name)) emit(name, v);
  const out: SafetensorsTensor[] = [];
  for (const e of order) {
    out.push(
      'v' in e
        ? { name: e.name, dtype: 'F32', shape: torchShape(e.v.shape, matrix), data: await toTorchValues(e.v) }
        : { name: e.name, dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(e.tracked)) },
    );
  }
  return out;
}

export interface TorchExport {
  tensors: SafetensorsTensor[];
  metadata: Record<string, string>;
}

/** The backbone as torchvision tensors; metadata records arch and baseWidth plus the caller's keys (method, run id, ...). */
export async function backboneToTorchTensors(
  backbone: Backbone,
  metadata: Record<string, string> = {},
): Promise<TorchExport> {
  return {
    tensors: await parameterSetToTorchTensors(backbone),
    metadata: { format: 'pt', ...metadata, arch: backbone.name, baseWidth: String(backbone.baseWidth) },
  };
}

export async function headToTorchTensors(
  head: MlpHead | DenseMlpHead,
  metadata: Record<string, string> = {},
): Promise<TorchExport> {
  return {
    tensors: await parameterSetToTorchTensors(head, head.torchLayout),
    metadata: {
      format: 'pt',
      ...metadata,
      head: head.prefix,
      dims: `${head.inDim},${head.hiddenDim},${head.outDim}`,
      layout: head.torchLayout,
    },
  };
}

/** torchvision's classification heads (ResNet's fc, MobileNetV2's classifier): a backbone has none. */
const CLASSIFIER_PREFIXES = ['fc.', 'classifier.'];

export interface LoadOptions {
  /** Accept tensors the model has no place for (default false; `fc.*` / `classifier.*` are always ignored for backbones). */
  allowUnexpected?: boolean;
}

export interface LoadReport {
  loaded: string[];
  /** Tensors present in the file but not used (fc.* / classifier.*, or any when allowUnexpected). */
  ignored: string[];
}

/**
 * Check every name, dtype and shape first (all problems in one error, each naming its tensor),
 * then assign: a bad file never leaves the model half-loaded.
 */
export function loadParameterSetFromTorchTensors(
  set: ParameterSet,
  contents: SafetensorsContents,
  source: string,
  matrix: MatrixLayout,
  ignore: (name: string) => boolean,
  options: LoadOptions = {},
): LoadReport {
  const problems: string[] = [];
  const expected = new Map<string, tf.Variable>([...set.params, ...set.buffers]);
  const bnNames = new Set(batchNormNames(set));
  for (const [name, v] of expected) {
    const t = contents.tensors.get(name);
    const want = torchShape(v.shape, matrix);
    if (!t) {
      problems.push(`missing tensor "${name}" (expected F32 [${want.join(', ')}])`);
    } else if (t.dtype !== 'F32') {
      problems.push(`tensor "${name}" is ${t.dtype}, expected F32`);
    } else if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      problems.push(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
    }
  }
  const ignored: string[] = [];
  for (const [name, t] of contents.tensors) {
    if (expected.has(name)) continue;
    const nbt = name.endsWith('.num_batches_tracked')
      ? name.slice(0, -'.num_batches_tracked'.length)
      : undefined;
    if (nbt !== undefined && bnNames.has(nbt)) {
      if (t.dtype !== 'I64' || t.data.length !== 1) problems.push(`tensor "${name}" must be an I64 scalar`);
      continue;
    }
    if (ignore(name) || options.allowUnexpected) ignored.push(name);
    else problems.push(`unexpected tensor "${name}"`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 12).join('; ');
    const more = problems.length > 12 ? `; and ${problems.length - 12} more` : '';
    throw new Error(`${source}: ${shown}${more}`);
  }
  const loaded: string[] = [];
  for (const [name, v] of expected) {
    const t = contents.tensors.get(name) as Extract<SafetensorsTensor, { dtype: 'F32' }>;
    const value = fromTorchValues(t.data, v.shape);
    v.assign(value);
    value.dispose();
    loaded.push(name);
  }
  for (const bn of bnNames) {
    const t = contents.tensors.get(`${bn}.num_batches_tracked`);
    if (set.numBatchesTracked) set.numBatchesTracked.set(bn, t ? Number(t.data[0]) : 0);
  }
  return { loaded, ignored };
}

/**
 * Load torchvision-named tensors (a safetensors path, or parsed contents: a safetensors file's or a
 * PyTorch state dict's, engine/export/torch-file.ts) into an existing backbone.
 */
export async function loadBackboneFromSafetensors(
  backbone: Backbone,
  file: string | SafetensorsContents,
  options: LoadOptions = {},
  /** Names parsed contents in errors (the file they were read from). */
  contentsSource = 'safetensors contents',
): Promise<LoadReport> {
  const source = typeof file === 'string' ? file : contentsSource;
  const contents = typeof file === 'string' ? await readSafetensors(file) : file;
  const { arch, baseWidth } = contents.metadata;
  if (arch !== undefined && arch !== backbone.name) {
    throw new Error(`${source}: holds a ${arch} backbone, cannot load into ${backbone.name}`);
  }
  if (baseWidth !== undefined && Number(baseWidth) !== backbone.baseWidth) {
    throw new Error(`${source}: baseWidth ${baseWidth} does not match the backbone's ${backbone.baseWidth}`);
  }
  return loadParameterSetFromTorchTensors(
    backbone,
    contents,
    source,
    'linear',
    (n) => CLASSIFIER_PREFIXES.some((p) => n.startsWith(p)),
    options,
  );
}

export async function loadHeadFromSafetensors(
  head: MlpHead | DenseMlpHead,
  file: string | SafetensorsContents,
  options: LoadOptions = {},
): Promise<LoadReport> {
  const source = typeof file === 'string' ? file : 'safetensors contents';
  const contents = typeof file === 'string' ? await readSafetensors(file) : file;
  return loadParameterSetFromTorchTensors(head, contents, source, head.torchLayout, () => false, options);
}
