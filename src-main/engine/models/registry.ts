/**
 * Backbones by name (timm's / torchvision's registry idea): a builder is registered once under a
 * name, users pick it from a config string, and `listBackbones('resnet*')` tells them what exists.
 */
import { backboneWidthProblem, type BackboneName } from '../../../shared/config/backbones';
import { createMobileNetV2, MOBILENET_V2_STEM } from './mobilenet-v2';
import { createResNet, type BackboneOptions } from './resnet';
import type { Backbone } from './types';

export type { BackboneOptions } from './resnet';

export type BackboneBuilder = (options: Required<BackboneOptions>) => Backbone;

const builders = new Map<string, BackboneBuilder>();
const defaultWidths = new Map<string, number>();

/** `defaultBaseWidth`: the width torchvision builds (64 for ResNets, 32 = MobileNetV2's stem). */
export function registerBackbone(name: string, builder: BackboneBuilder, defaultBaseWidth = 64): void {
  if (!/^[a-z][a-z0-9_.-]*$/.test(name)) {
    throw new Error(`registerBackbone: "${name}" is not a valid name (lowercase letters, digits, _ . -)`);
  }
  if (builders.has(name)) throw new Error(`registerBackbone: "${name}" is already registered`);
  builders.set(name, builder);
  defaultWidths.set(name, defaultBaseWidth);
}

export function createBackbone(name: string, options: BackboneOptions = {}): Backbone {
  const builder = builders.get(name);
  if (!builder) {
    throw new Error(`Unknown backbone "${name}"; registered: ${listBackbones().join(', ')}`);
  }
  const baseWidth = options.baseWidth ?? defaultWidths.get(name) ?? 64;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(baseWidth) || baseWidth < 1) {
    throw new Error(`Backbone "${name}": baseWidth must be a positive integer (got ${baseWidth})`);
  }
  const widthProblem = backboneWidthProblem(name, baseWidth);
  if (widthProblem) throw new Error(`Backbone "${name}": baseWidth ${widthProblem}`);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`Backbone "${name}": seed must be a non-negative integer (got ${seed})`);
  }
  return builder({ baseWidth, seed });
}

/** Sorted names; `pattern` is a shell-style wildcard (`*`, `?`) matched against the whole name. */
export function listBackbones(pattern?: string): string[] {
  const names = [...builders.keys()].sort(naturalCompare);
  if (pattern === undefined) return names;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return names.filter((n) => re.test(n));
}

/** resnet18 < resnet34 < resnet50 < resnet101 (digits compared as numbers). */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * The built-in backbones, keyed by shared's BACKBONE_NAMES (what configs accept): the Record type
 * makes the two lists equal at compile time, so registering one here (and its name there) is all
 * adding a backbone takes — validation, the CLI's `info` and the studio's choices follow.
 */
const BUILT_IN: Record<BackboneName, { build: BackboneBuilder; defaultBaseWidth: number }> = {
  mobilenet_v2: { build: (o) => createMobileNetV2(o), defaultBaseWidth: MOBILENET_V2_STEM },
  resnet18: { build: (o) => createResNet('resnet18', o), defaultBaseWidth: 64 },
  resnet34: { build: (o) => createResNet('resnet34', o), defaultBaseWidth: 64 },
  resnet50: { build: (o) => createResNet('resnet50', o), defaultBaseWidth: 64 },
  resnet101: { build: (o) => createResNet('resnet101', o), defaultBaseWidth: 64 },
};

for (const [name, { build, defaultBaseWidth }] of Object.entries(BUILT_IN))
  registerBackbone(name, build, defaultBaseWidth);
