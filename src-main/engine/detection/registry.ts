/** Detectors by name, as backbones are: users pick one from a config string. */
import type { DetectorName, FinetuneConfig } from '../../../shared/config/finetune';
import type { Backbone } from '../models/types';
import type { Detector } from './detector';
import { createFasterRcnn } from './faster-rcnn/faster-rcnn';
import { createRetinaNet } from './retinanet/retinanet';

export type DetectorBuilder = (config: FinetuneConfig, backbone: Backbone, numClasses: number) => Detector;

const builders = new Map<string, DetectorBuilder>([
  ['retinanet', createRetinaNet],
  ['faster-rcnn', createFasterRcnn],
  // Faster R-CNN's network with the mask branch in its ROI heads (as detectron2's MASK_ON).
  ['mask-rcnn', (config, backbone, numClasses) => createFasterRcnn(config, backbone, numClasses, true)],
]);

export function listDetectors(): string[] {
  return [...builders.keys()].sort();
}

/** Builds `config.detector` on `backbone` (which it then owns: disposing the detector disposes it). */
export function createDetector(config: FinetuneConfig, backbone: Backbone, numClasses: number): Detector {
  const build = builders.get(config.detector as DetectorName);
  if (!build)
    throw new Error(`Unknown detector "${config.detector}"; registered: ${listDetectors().join(', ')}`);
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new Error(`detector: numClasses must be a positive integer (got ${numClasses})`);
  return build(config, backbone, numClasses);
}
