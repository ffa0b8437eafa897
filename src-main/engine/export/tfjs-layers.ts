/**
 * Export a ResNet backbone as a standard TF.js layers model (model.json + one weights .bin), so a
 * browser or tfjs-node user can `tf.loadLayersModel` it without our code. The graph is rebuilt
 * from tf.layers by walking the same ResNetArch the functional forward walks; BN is inference-mode
 * (running statistics), and the outputs are the named feature maps.
 *
 * Files go through a custom IOHandler (tf.io.withSaveHandler) and come back through a custom load
 * handler, since there is no file:// handler without tfjs-node.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isResNetBackbone, type ConvBnSpec } from '../models/resnet';
import { getParam } from '../models/parameter-set';
import type { Backbone, FeatureName } from '../models/types';
import { writeFileDurable } from '../disk-write';
import { makeFolder } from './make-folder';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export interface TfjsLayersExportOptions {
  /** All four feature maps (default) or only res5. */
  outputs?: 'all' | 'res5';
  /** Stored in model.json's userDefinedMetadata next to arch, baseWidth and the output names. */
  metadata?: Record<string, string>;
}

/** Keras-style layer names: torchvision's module name with dots as underscores (`layer1_0_conv1`). */
export function layerName(moduleName: string): string {
  return moduleName.replace(/\./g, '_');
}

/**
 * The equivalent tf.LayersModel with the backbone's current weights copied in. Input is
 * [null, null, null, 3] (any batch and size); output order is res2..res5 (or res5 alone).
 */
export function buildLayersModel(backbone: Backbone, options: TfjsLayersExportOptions = {}): tf.LayersModel {
  if (!isResNetBackbone(backbone)) {
    throw new Error(
      `TF.js layers export: backbone "${backbone.name}" is not a ResNet; only ResNet graphs can be rebuilt`,
    );
  }
  const { arch } = backbone;
  const wanted: FeatureName[] = options.outputs === 'res5' ? ['res5'] : ['res2', 'res3', 'res4', 'res5'];
  const weightAssignments: [string, tf.Tensor[]][] = [];

  const convBn = (x: tf.SymbolicTensor, spec: ConvBnSpec): tf.SymbolicTensor => {
    const { conv } = spec;
    let h = x;
    // tf.layers conv has no symmetric numeric padding; pad explicitly as torch does.
    if (conv.pad > 0) {
      h = tf.layers
        .zeroPadding2d({ padding: conv.pad, name: `${layerName(conv.name)}_pad` })
        .apply(h) as tf.SymbolicTensor;
    }
    h = tf.layers
      .conv2d({
        filters: conv.outChannels,
        kernelSize: conv.kernel,
        strides: conv.stride,
        padding: 'valid',
        useBias: false,
        name: layerName(conv.name),
      })
      .apply(h) as tf.SymbolicTensor;
    weightAssignments.push([layerName(conv.name), [getParam(backbone, `${conv.name}.weight`)]]);
    h = tf.layers
      .batchNormalization({ axis: -1, epsilon: 1e-5, name: layerName(spec.bn) })
      .apply(h) as tf.SymbolicTensor;
    weightAssignments.push([
      layerName(spec.bn),
      ['weight', 'bias', 'running_mean', 'running_var'].map((s) => getParam(backbone, `${spec.bn}.${s}`)),
    ]);
    if (spec.relu) h = tf.layers.reLU({ name: `${layerName(spec.bn)}_relu` }).apply(h) as tf.SymbolicTensor;
    return h;
  };

  const input = tf.input({ shape: [null, null, 3], name: 'image' });
  let h = convBn(input, arch.stem);
  // Zero padding equals torch's -inf padding here: the input is post-ReLU, hence ≥ 0.
  h = tf.layers.zeroPadding2d({ padding: 1, name: 'maxpool_pad' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'maxpool' })
    .apply(h) as tf.SymbolicTensor;
  const outputs = new Map<FeatureName, tf.SymbolicTensor>();
  for (const stage of arch.stages) {
    for (const block of stage.blocks) {
      let y = h;
      for (const spec of block.main) y = convBn(y, spec);
      const shortcut = block.downsample ? convBn(h, block.downsample) : h;
      const sum = tf.layers
        .add({ name: `${layerName(block.name)}_add` })
        .apply([y, shortcut]) as tf.SymbolicTensor;
      const isLast = block === stage.blocks[stage.blocks.length - 1];
      // The stage's last ReLU is the feature map: name it so.
      h = tf.layers
        .reLU({ name: isLast ? stage.feature : `${layerName(block.name)}_relu` })
        .apply(sum) as tf.SymbolicTensor;
    }
    outputs.set(stage.feature, h);
  }
  const model = tf.model({
    inputs: input,
    outputs: wanted.map((f) => outputs.get(f) as tf.SymbolicTensor),
    name: `${arch.name}_w${arch.baseWidth}`,
  });
  for (const [name, values] of weightAssignments) model.getLayer(name).setWeights(values);
  model.setUserDefinedMetadata({
    ...options.metadata,
    arch: arch.name,
    baseWidth: String(arch.baseWidth),
    outputs: wanted.join(','),
  });
  return model;
}

export interface TfjsLayersExportResult {
  modelJsonPath: string;
  weightsPath: string;
  weightBytes: number;
}

/** Write `<dir>/model.json` and `<dir>/weights.bin`. */
export async function saveBackboneAsTfjsLayers(
  backbone: Backbone,
  dir: string,
  options: TfjsLayersExportOptions = {},
): Promise<TfjsLayersExportResult> {
  const model = buildLayersModel(backbone, options);
  const modelJsonPath = join(dir, MODEL_JSON);
  const weightsPath = join(dir, WEIGHTS_BIN);
  let weightBytes = 0;
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
        weightBytes = weights.byteLength;
        const modelJson: tf.io.ModelJSON = {
          modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        };
        if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
        makeFolder(dir);
        // Durable: a full disk is a DiskFullError naming the folder, and leaves no truncated file.
        writeFileDurable(weightsPath, new Uint8Array(weights));
        writeFileDurable(modelJsonPath, JSON.stringify(modelJson));
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  } finally {
    model.dispose();
  }
  return { modelJsonPath, weightsPath, weightBytes };
}

export interface LoadedTfjsBackbone {
  model: tf.LayersModel;
  /** Feature name of each model output, in order. */
  outputs: FeatureName[];
  metadata: Record<string, string>;
}

/** Read `<dir>/model.json` (or a path to a model.json) and its weight shards. */
export async function loadTfjsLayersBackbone(dirOrModelJson: string): Promise<LoadedTfjsBackbone> {
  const modelJsonPath = dirOrModelJson.endsWith('.json') ? dirOrModelJson : join(dirOrModelJson, MODEL_JSON);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new Error(`${modelJsonPath}: cannot read a TF.js model.json (${(e as Error).message})`);
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${modelJsonPath}: not a TF.js layers model (modelTopology or weightsManifest missing)`);
  }
  const base = dirname(modelJsonPath);
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        const bytes = await readFile(join(base, p));
        buffers.push(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
        );
      }
    }
    return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
  });
  const model = await tf.loadLayersModel({ load: async () => artifacts });
  const metadata = (model.getUserDefinedMetadata() ?? {}) as Record<string, string>;
  const outputs = (metadata.outputs ?? 'res2,res3,res4,res5').split(',') as FeatureName[];
  if (outputs.length !== model.outputs.length) {
    throw new Error(
      `${modelJsonPath}: metadata lists ${outputs.length} outputs, the model has ${model.outputs.length}`,
    );
  }
  return { model, outputs, metadata };
}

/** Run the loaded model and name its outputs. */
export function predictFeatures(
  loaded: LoadedTfjsBackbone,
  x: tf.Tensor4D,
): Partial<Record<FeatureName, tf.Tensor4D>> {
  const raw = loaded.model.predict(x);
  const list = (Array.isArray(raw) ? raw : [raw]) as tf.Tensor4D[];
  return Object.fromEntries(loaded.outputs.map((f, i) => [f, list[i]])) as Partial<
    Record<FeatureName, tf.Tensor4D>
  >;
}
