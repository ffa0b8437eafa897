/**
 * The three arms of the paper's comparison, as where a detector's backbone weights come from:
 * random init, a pretraining run (BYOL / Self-EMD; the online encoder's backbone of its newest
 * checkpoint, with BN running statistics), or a backbone file (safetensors with torchvision names, a
 * TF.js layers model.json written by the exporter, or a PyTorch `.pth` / `.pt` state dict such as
 * torchvision's ImageNet-supervised weights).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackboneName } from '../../../shared/config/pretrain';
import type { FinetuneConfig } from '../../../shared/config/finetune';
import { layerName, loadTfjsLayersBackbone } from '../export/tfjs-layers';
import { readTorchStateDict } from '../export/torch-file';
import { loadBackboneFromSafetensors } from '../export/torch-state-dict';
import { backboneTraits, createBackbone } from '../models/registry';
import { detectArchitecture, resnetDepthFromNames } from '../models/detect-architecture';
import { convBnPairs, isResNetBackbone } from '../models/resnet';
import type { Backbone } from '../models/types';
import { listCheckpoints, loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint';

interface BackboneIdentity {
  name: BackboneName;
  baseWidth: number;
}

const BACKBONE_PREFIX = 'online.params/backbone/';
const BUFFER_PREFIX = 'online.buffers/backbone/';

/** A run folder, its checkpoints/ folder, or one checkpoint folder → the checkpoint folder to load. */
export function resolvePretrainCheckpoint(p: string): string {
  if (fs.existsSync(path.join(p, 'manifest.json'))) return p;
  const root = fs.existsSync(path.join(p, 'checkpoints')) ? path.join(p, 'checkpoints') : p;
  if (!fs.existsSync(root)) throw new Error(`init.path ${p}: no such folder`);
  const latest = listCheckpoints(root).at(-1);
  if (!latest) throw new Error(`init.path ${p}: no pretraining checkpoint in ${root}`);
  return latest.dir;
}

function identityFromCheckpoint(ckpt: LoadedCheckpoint<{ backbone?: string }>): BackboneIdentity {
  const keys = new Set(
    [...ckpt.tensors.keys()]
      .filter((k) => k.startsWith(BACKBONE_PREFIX))
      .map((k) => k.slice(BACKBONE_PREFIX.length)),
  );
  // Checkpoints record their backbone; older ones are told apart by their parameter names.
  const name =
    ckpt.state.backbone ??
    resnetDepthFromNames(keys) ??
    (keys.has('features.0.0.weight') ? 'mobilenet_v2' : undefined);
  if (!name) throw new Error(`checkpoint ${ckpt.dir}: cannot tell the backbone's architecture`);
  const stemWeight = backboneTraits(name).stemWeight;
  const stem = ckpt.tensors.get(`${BACKBONE_PREFIX}${stemWeight}`);
  if (!stem)
    throw new Error(
      `checkpoint ${ckpt.dir}: no ${BACKBONE_PREFIX}${stemWeight} — not a pretraining checkpoint of a ${name}`,
    );
  return { name: name as BackboneName, baseWidth: stem.shape[3]! };
}

function checkIdentity(config: FinetuneConfig, found: BackboneIdentity, source: string): void {
  if (found.name !== config.backbone.name || found.baseWidth !== config.backbone.baseWidth)
    throw new Error(
      `${source} holds a ${found.name} of width ${found.baseWidth}, but backbone is ${config.backbone.name} of width ${config.backbone.baseWidth}`,
    );
}

/** Builds the configured backbone and fills it from `config.init`. */
export async function initBackbone(
  config: FinetuneConfig,
): Promise<{ backbone: Backbone; description: string }> {
  const { kind, path: p } = config.init;
  const backbone = createBackbone(config.backbone.name, {
    baseWidth: config.backbone.baseWidth,
    seed: config.seed,
  });
  try {
    switch (kind) {
      case 'random':
        return {
          backbone,
          description: `random init (${config.backbone.name}, width ${config.backbone.baseWidth}, seed ${config.seed})`,
        };
      case 'pretrain-run': {
        const dir = resolvePretrainCheckpoint(p);
        const ckpt = loadCheckpoint<{
          backbone?: string;
          method?: string;
          step?: number;
          numBatchesTracked?: Record<string, number>;
        }>(dir);
        checkIdentity(config, identityFromCheckpoint(ckpt), `checkpoint ${dir}`);
        const assign = (vars: Map<string, tf.Variable>, prefix: string) => {
          for (const [name, v] of vars) {
            const t = ckpt.tensors.get(prefix + name);
            if (!t) throw new Error(`checkpoint ${dir}: missing ${prefix}${name}`);
            if (t.shape.join('x') !== v.shape.join('x'))
              throw new Error(
                `checkpoint ${dir}: ${prefix}${name} has shape [${t.shape}], the backbone expects [${v.shape}]`,
              );
            tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
          }
        };
        assign(backbone.params, BACKBONE_PREFIX);
        assign(backbone.buffers, BUFFER_PREFIX);
        for (const [key, n] of Object.entries(ckpt.state.numBatchesTracked ?? {}))
          if (key.startsWith('backbone/')) backbone.numBatchesTracked?.set(key.slice('backbone/'.length), n);
        return {
          backbone,
          description: `${ckpt.state.method ?? 'pretraining'} checkpoint ${dir} (step ${ckpt.state.step ?? '?'})`,
        };
      }
      case 'safetensors': {
        const report = await loadBackboneFromSafetensors(backbone, p);
        return { backbone, description: `safetensors ${p} (${report.loaded.length} tensors)` };
      }
      case 'pytorch': {
        // A torch.save state dict (torchvision's ImageNet weights): no metadata, so the architecture
        // comes from its keys and shapes; then the one loader checks and assigns every tensor.
        const contents = readTorchStateDict(p);
        const shapes = new Map([...contents.tensors].map(([k, t]) => [k, t.shape]));
        checkIdentity(config, detectArchitecture(shapes, p) as BackboneIdentity, p);
        const report = await loadBackboneFromSafetensors(backbone, contents, {}, p);
        const skipped = contents.skipped.length ? `; skipped ${contents.skipped.join(', ')}` : '';
        return {
          backbone,
          description: `PyTorch state dict ${p} (${report.loaded.length} tensors${report.ignored.length ? `, ${report.ignored.join(', ')} unused` : ''}${skipped})`,
        };
      }
      case 'tfjs': {
        const loaded = await loadTfjsLayersBackbone(p);
        try {
          const { arch, baseWidth } = loaded.metadata;
          if (arch && baseWidth)
            checkIdentity(config, { name: arch as BackboneName, baseWidth: Number(baseWidth) }, p);
          if (!isResNetBackbone(backbone))
            throw new Error(`${p}: only ResNet backbones load from TF.js layers models`);
          for (const { conv, bn } of convBnPairs(backbone.arch)) {
            const [w] = loaded.model.getLayer(layerName(conv.name)).getWeights();
            const bnWeights = loaded.model.getLayer(layerName(bn)).getWeights();
            const targets = [
              `${conv.name}.weight`,
              ...['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${bn}.${s}`),
            ];
            [w!, ...bnWeights].forEach((value, i) => {
              const v = backbone.params.get(targets[i]!) ?? backbone.buffers.get(targets[i]!);
              if (!v || v.shape.join('x') !== value.shape.join('x'))
                throw new Error(
                  `${p}: layer weight for ${targets[i]} has shape [${value.shape}], expected [${v?.shape}]`,
                );
              v.assign(value);
            });
          }
        } finally {
          loaded.model.dispose();
        }
        return { backbone, description: `TF.js layers model ${p}` };
      }
    }
  } catch (e) {
    backbone.dispose();
    throw e;
  }
}
