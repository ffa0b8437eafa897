/**
 * The fine-tune config the detection benches run: the requested detector's CPU recipe
 * (`cpuFinetuneOverrides`, what the studio and the CLI fill in on a CPU), on wasm, with the bench's
 * own settings, under the caller's overrides. One resolution for the recipe, diagnose and
 * side-by-side benches, so that they measure the same run.
 */
import {
  cpuFinetuneOverrides,
  requestedDetector,
  resolveFinetuneConfig,
  type FinetuneConfig,
} from '../shared/config/finetune';
import { mergeDefaults } from '../shared/config/validation';

export function cpuRecipeConfig(
  overrides: Record<string, unknown>,
  benchSettings: object = {},
): FinetuneConfig {
  return resolveFinetuneConfig(
    mergeDefaults(
      mergeDefaults(cpuFinetuneOverrides(requestedDetector(overrides)), {
        backend: 'wasm',
        ...benchSettings,
      }),
      overrides,
    ),
  );
}
