/**
 * The pyramid levels the transport view offers for a run: the full dense map (grid 0) and each of the
 * run's Spatial Pyramid Crop grids that is a distinct level at its image size (the shared spcLevels
 * rule: a grid larger than the map pools to the whole map, so it is not offered).
 */
import { spcLevels } from '../../shared/config/pretrain';

export interface GridChoice {
  value: number;
  label: string;
  title: string;
  disabled: boolean;
}

/** `imageSize` null: the run's config is not known yet (only the full map is offered, unsized). */
export function pyramidGridChoices(
  imageSize: number | null,
  grids: readonly number[],
): { mapSide: number | null; choices: GridChoice[]; allowed: number[] } {
  const largestFirst = [...grids].sort((a, b) => b - a);
  const pyramid = imageSize !== null && imageSize > 0 ? spcLevels(imageSize, largestFirst) : null;
  const side = pyramid?.mapSide ?? null;
  const allowed = [...largestFirst.filter((g) => !!pyramid?.levels.includes(g)), 0];
  const choices = [
    {
      value: 0,
      label: side ? `full ${side}×${side}` : 'full map',
      title: 'the dense map itself',
      disabled: false,
    },
    ...largestFirst.map((g) => ({
      value: g,
      label: `${g}×${g}`,
      disabled: !allowed.includes(g),
      title: allowed.includes(g)
        ? `spatial pyramid level ${g}×${g}`
        : side === null
          ? 'the run’s image size is not known yet'
          : `needs a dense map of at least ${g}×${g}: this run’s images give ${side}×${side}`,
    })),
  ];
  return { mapSide: side, choices, allowed };
}
