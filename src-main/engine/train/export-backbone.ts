/**
 * Exports the online backbone of a pretraining checkpoint (what the paper keeps, §3.1) as a
 * safetensors file with torchvision names, or as a TF.js layers model folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PretrainConfig } from '../../../shared/config/pretrain';
import { backboneToTorchTensors } from '../export/torch-state-dict';
import { writeSafetensors } from '../export/safetensors';
import { saveBackboneAsTfjsLayers } from '../export/tfjs-layers';
import { disposeEncoder } from '../ssl/networks';
import { restoreEncoders } from './restore-encoders';
import { makeFolder } from '../export/make-folder';

export interface BackboneExport {
  path: string;
  bytes: number;
  format: 'tfjs' | 'safetensors';
  checkpointStep: number;
}

export async function exportBackbone(args: {
  config: PretrainConfig;
  runDir: string;
  format: 'tfjs' | 'safetensors';
  outPath: string;
  step?: number;
  metadata?: Record<string, string>;
}): Promise<BackboneExport> {
  const restored = restoreEncoders(args.config, args.runDir, args.step);
  try {
    const meta = { method: args.config.method, checkpoint_step: String(restored.step), ...args.metadata };
    if (args.format === 'safetensors') {
      const out = args.outPath.endsWith('.safetensors') ? args.outPath : `${args.outPath}.safetensors`;
      makeFolder(path.dirname(path.resolve(out)));
      const { tensors, metadata } = await backboneToTorchTensors(restored.online.backbone, meta);
      await writeSafetensors(out, tensors, metadata);
      return {
        path: out,
        bytes: fs.statSync(out).size,
        format: 'safetensors',
        checkpointStep: restored.step,
      };
    }
    const res = await saveBackboneAsTfjsLayers(restored.online.backbone, args.outPath, { metadata: meta });
    return {
      path: args.outPath,
      bytes: res.weightBytes + fs.statSync(res.modelJsonPath).size,
      format: 'tfjs',
      checkpointStep: restored.step,
    };
  } finally {
    disposeEncoder(restored.online);
    disposeEncoder(restored.target);
  }
}
