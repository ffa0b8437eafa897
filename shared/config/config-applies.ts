/**
 * Whether a config field means anything for the run that holds it: every run's config carries every
 * method's section (a BYOL run has `emd.*`, `moco.*`, …, left at their defaults), so a comparison of
 * runs must not present those as differences. The rules follow what the trainers read:
 * pretraining (engine/train) by `method` and the data / probe / EMD switches; fine-tuning
 * (engine/detection) by `detector`, `init.kind` and whether train / val are the demo scenes.
 */
import { getConfigPath } from './config-path';

type Config = Record<string, unknown>;
/** A path prefix and when it applies. The first matching rule decides; no rule: it applies. */
type Rule = [prefix: string, applies: (c: Config) => boolean];

const is =
  (path: string, ...values: unknown[]) =>
  (c: Config) =>
    values.includes(getConfigPath(c, path));
const isNot = (path: string, value: unknown) => (c: Config) => getConfigPath(c, path) !== value;
const all =
  (...tests: ((c: Config) => boolean)[]) =>
  (c: Config) =>
    tests.every((t) => t(c));

const PRETRAIN_RULES: Rule[] = [
  ['byol.', is('method', 'byol', 'self-emd')],
  ['moco.', is('method', 'moco-v2')],
  ['simclr.', is('method', 'simclr')],
  ['emd.spcGrids', all(is('method', 'self-emd'), is('emd.spc', true))],
  ['emd.spcPairing', all(is('method', 'self-emd'), is('emd.spc', true))],
  ['emd.scaleViewSize', all(is('method', 'self-emd'), is('emd.scaleView', true))],
  ['emd.', is('method', 'self-emd')],
  ['data.demoImages', is('data.source', 'demo')],
  ['probe.demoImages', is('probe.data', 'demo')],
  ['probe.every', isNot('probe.data', '')],
];

const demoData = (c: Config) => is('data.train', 'demo')(c) || is('data.val', 'demo')(c);
const FINETUNE_RULES: Rule[] = [
  ['retinanet.', is('detector', 'retinanet')],
  ['rpn.', is('detector', 'faster-rcnn', 'mask-rcnn')],
  ['roiHeads.', is('detector', 'faster-rcnn', 'mask-rcnn')],
  ['roiMaskHead.', is('detector', 'mask-rcnn')],
  ['init.path', isNot('init.kind', 'random')],
  ['data.demo', demoData],
  ['data.trainSplit', isNot('data.train', 'demo')],
  ['data.trainImages', isNot('data.train', 'demo')],
  ['data.valSplit', isNot('data.val', 'demo')],
  ['data.valImages', isNot('data.val', 'demo')],
];

/** Does the dotted config path apply to this run's config (a pretraining or a fine-tuning one)? */
export function configPathApplies(config: Config, path: string): boolean {
  const rules = 'detector' in config ? FINETUNE_RULES : PRETRAIN_RULES;
  const rule = rules.find(([prefix]) => path === prefix || path.startsWith(prefix));
  return rule ? rule[1](config) : true;
}
