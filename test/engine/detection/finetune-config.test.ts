/** The fine-tune config: detectron2's defaults per detector, and errors that name the field. */
import { describe, expect, it } from 'vitest';
import {
  cpuFinetuneOverrides,
  DEFAULT_FINETUNE_CONFIG,
  resolveFinetuneConfig,
} from '../../../shared/config/finetune';
import { configPathApplies } from '../../../shared/config/config-applies';
import { ConfigError } from '../../../shared/config/validation';

describe('finetune config', () => {
  it('defaults follow detectron2 (RetinaNet / Faster R-CNN FPN) and the detector picks its lr', () => {
    const r = resolveFinetuneConfig({ detector: 'retinanet' });
    expect(r.retinanet.anchorSizes).toEqual([32, 64, 128, 256, 512]);
    expect(r.retinanet.anchorScales.map((s) => +s.toFixed(4))).toEqual([1, 1.2599, 1.5874]);
    expect(r.retinanet).toMatchObject({
      iouThresholds: [0.4, 0.5],
      focalAlpha: 0.25,
      focalGamma: 2,
      smoothL1Beta: 0.1,
      numConvs: 4,
      topkCandidatesTest: 1000,
      nmsThreshTest: 0.5,
    });
    expect(r.optim.lr).toBe(0.01);
    const f = resolveFinetuneConfig({ detector: 'faster-rcnn' });
    expect(f.optim.lr).toBe(0.02);
    expect(f.rpn).toMatchObject({
      iouThresholds: [0.3, 0.7],
      batchSizePerImage: 256,
      positiveFraction: 0.5,
      preNmsTopkTrain: 2000,
      postNmsTopkTrain: 1000,
      nmsThresh: 0.7,
    });
    expect(f.roiHeads).toMatchObject({
      batchSizePerImage: 512,
      positiveFraction: 0.25,
      poolerResolution: 7,
      samplingRatio: 0,
      bboxRegWeights: [10, 10, 5, 5],
      fcDim: 1024,
    });
    expect(f.optim.decayAt.map((x) => x * 90000)).toEqual([60000, 80000]);
    expect(resolveFinetuneConfig({ detector: 'faster-rcnn', optim: { lr: 0.005 } }).optim.lr).toBe(0.005);
    for (const d of ['retinanet', 'faster-rcnn', 'mask-rcnn'] as const)
      expect(() => resolveFinetuneConfig({ ...cpuFinetuneOverrides(d), detector: d })).not.toThrow();
    expect(DEFAULT_FINETUNE_CONFIG.data.minSizeTrain).toEqual([640, 800]);
  });

  it('Mask R-CNN: Faster R-CNN’s defaults plus detectron2’s mask head (ROI_MASK_HEAD); its section applies to it alone', () => {
    const m = resolveFinetuneConfig({ detector: 'mask-rcnn' });
    const f = resolveFinetuneConfig({ detector: 'faster-rcnn' });
    expect(m.optim.lr).toBe(0.02);
    expect(m.rpn).toEqual(f.rpn);
    expect(m.roiHeads).toEqual(f.roiHeads);
    expect(m.roiMaskHead).toEqual({
      numConv: 4,
      convDim: 256,
      poolerResolution: 14,
      samplingRatio: 0,
      lossWeight: 1,
    });
    expect(
      resolveFinetuneConfig({ ...cpuFinetuneOverrides('mask-rcnn'), detector: 'mask-rcnn' }).roiMaskHead
        .convDim,
    ).toBe(32);
    expect(configPathApplies(m as unknown as Record<string, unknown>, 'roiMaskHead.convDim')).toBe(true);
    expect(configPathApplies(m as unknown as Record<string, unknown>, 'roiHeads.fcDim')).toBe(true);
    expect(configPathApplies(m as unknown as Record<string, unknown>, 'retinanet.numConvs')).toBe(false);
    expect(configPathApplies(f as unknown as Record<string, unknown>, 'roiMaskHead.convDim')).toBe(false);
    expect(() => resolveFinetuneConfig({ detector: 'mask-rcnn', roiMaskHead: { convDim: 0 } })).toThrow(
      /roiMaskHead\.convDim/,
    );
  });

  it('reports every bad field by path', () => {
    let err: ConfigError | undefined;
    try {
      resolveFinetuneConfig({
        detector: 'yolo',
        init: { kind: 'safetensors', path: '' },
        backbone: { freezeAt: 2 },
        data: { minSizeTrain: [800, 640] },
        retinanet: { anchorSizes: [32, 64], iouThresholds: [0.6, 0.5] },
        optim: { decayAt: [0.9, 0.5], lr: -1 },
        typo: 1,
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = err!.issues.map((i) => i.path).sort();
    expect(paths).toEqual(['detector', 'optim.lr', 'typo']);
    // structural problems first; then the cross-field checks on a well-formed config
    let err2: ConfigError | undefined;
    try {
      resolveFinetuneConfig({
        init: { kind: 'safetensors', path: '' },
        backbone: { freezeAt: 2 },
        data: { minSizeTrain: [800, 640] },
        retinanet: { anchorSizes: [32, 64], iouThresholds: [0.6, 0.5] },
        optim: { decayAt: [0.9, 0.5] },
      });
    } catch (e) {
      err2 = e as ConfigError;
    }
    expect(err2!.issues.map((i) => i.path).sort()).toEqual([
      'backbone.freezeAt',
      'data.minSizeTrain',
      'init.path',
      'optim.decayAt',
      'retinanet.anchorSizes',
      'retinanet.iouThresholds',
    ]);
    expect(err2!.message).toMatch(/backbone\.freezeAt: must be 0 with backbone\.norm "bn"/);
  });

  it('RetinaNet head GroupNorm: the group count must divide the FPN channels; the FPN has no "gn"', () => {
    const gn = { headNorm: 'gn', headNormGroups: 4 };
    expect(resolveFinetuneConfig({ fpn: { channels: 32 }, retinanet: gn }).retinanet).toMatchObject(gn);
    expect(() =>
      resolveFinetuneConfig({ fpn: { channels: 36 }, retinanet: { headNorm: 'gn', headNormGroups: 8 } }),
    ).toThrow(/retinanet\.headNormGroups: must divide fpn\.channels \(36\) with headNorm "gn", got 8/);
    // only used with gn: any count is accepted with BN
    expect(() =>
      resolveFinetuneConfig({ fpn: { channels: 36 }, retinanet: { headNorm: 'bn', headNormGroups: 8 } }),
    ).not.toThrow();
    expect(() => resolveFinetuneConfig({ fpn: { norm: 'gn' } })).toThrow(/fpn\.norm/);
  });
});
