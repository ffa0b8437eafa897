/**
 * The detector of the engine tests: ResNet-18 at width 4, an 8-channel FPN, one head conv and small
 * RPN / RoI samples, with anchors for 64 px images. Config overrides, merged by each test with its own.
 */
export const TINY_DETECTOR = {
  backbone: { name: 'resnet18', baseWidth: 4 },
  fpn: { channels: 8 },
  retinanet: { anchorSizes: [8, 16, 32, 64, 128], numConvs: 1 },
  rpn: {
    anchorSizes: [8, 16, 32, 64, 128],
    batchSizePerImage: 32,
    preNmsTopkTrain: 100,
    postNmsTopkTrain: 50,
  },
  roiHeads: { batchSizePerImage: 32, fcDim: 16, canonicalBoxSize: 36 },
};
