/**
 * Building and querying ParameterSets: the variables of a model keyed by torchvision names.
 * TF variable names are process-global and get uniquified by TF.js, so we never rely on them;
 * the Map key is the only identity a parameter has.
 */
import * as tf from '@tensorflow/tfjs';
import { kaimingNormalConv } from './init';
import type { ParameterSet } from './types';

export interface MutableParameterSet extends ParameterSet {
  readonly numBatchesTracked: Map<string, number>;
  readonly affineNorms: Set<string>;
}

export function createParameterSet(): MutableParameterSet {
  return { params: new Map(), buffers: new Map(), numBatchesTracked: new Map(), affineNorms: new Set() };
}

function addVariable(
  target: Map<string, tf.Variable>,
  name: string,
  values: Float32Array,
  shape: number[],
  trainable: boolean,
): tf.Variable {
  if (target.has(name)) throw new Error(`Duplicate parameter name "${name}"`);
  const initial = tf.tensor(values, shape, 'float32');
  // No explicit TF name: TF.js makes one unique per process, and we key by `name` instead.
  const v = tf.variable(initial, trainable);
  initial.dispose();
  target.set(name, v);
  return v;
}

export function addParam(
  set: ParameterSet,
  name: string,
  values: Float32Array,
  shape: number[],
): tf.Variable {
  return addVariable(set.params, name, values, shape, true);
}

export function addBuffer(
  set: ParameterSet,
  name: string,
  values: Float32Array,
  shape: number[],
): tf.Variable {
  return addVariable(set.buffers, name, values, shape, false);
}

/** A bias-free conv, [k, k, in, out], kaiming-normal (fan_out, relu) as torchvision's ResNet. */
export function addConv(
  set: ParameterSet,
  name: string,
  kernel: number,
  inChannels: number,
  outChannels: number,
  seed: number,
): void {
  const weightName = `${name}.weight`;
  addParam(set, weightName, kaimingNormalConv(kernel, inChannels, outChannels, seed, weightName), [
    kernel,
    kernel,
    inChannels,
    outChannels,
  ]);
}

/** BN with γ = 1, β = 0, running mean 0 and running var 1 (torch's defaults). */
export function addBatchNorm(set: MutableParameterSet, name: string, channels: number): void {
  addParam(set, `${name}.weight`, new Float32Array(channels).fill(1), [channels]);
  addParam(set, `${name}.bias`, new Float32Array(channels), [channels]);
  addBuffer(set, `${name}.running_mean`, new Float32Array(channels), [channels]);
  addBuffer(set, `${name}.running_var`, new Float32Array(channels).fill(1), [channels]);
  set.numBatchesTracked.set(name, 0);
}

export function getParam(set: ParameterSet, name: string): tf.Variable {
  const v = set.params.get(name) ?? set.buffers.get(name);
  if (!v) throw new Error(`No parameter or buffer named "${name}"`);
  return v;
}

/** Trainable element count (what torchvision's `sum(p.numel() for p in m.parameters())` reports). */
export function countParameters(set: ParameterSet): number {
  let n = 0;
  for (const v of set.params.values()) n += v.size;
  return n;
}

/** BN layer names in creation order (every `<bn>.running_mean` buffer). */
export function batchNormNames(set: ParameterSet): string[] {
  const names: string[] = [];
  for (const key of set.buffers.keys()) {
    if (key.endsWith('.running_mean')) names.push(key.slice(0, -'.running_mean'.length));
  }
  return names;
}

export function disposeParameterSet(set: ParameterSet): void {
  for (const v of set.params.values()) v.dispose();
  for (const v of set.buffers.values()) v.dispose();
  set.params.clear();
  set.buffers.clear();
}
