/**
 * The pyramid levels the transport view offers for a run, as buttons: the full dense map (grid 0) and
 * each of the run's Spatial Pyramid Crop grids that is a level of its own at its image size (the
 * shared rule, spcSelectableGrids: a grid larger than the map pools to the whole map).
 */
import { denseMapSide, spcSelectableGrids } from '../../shared/config/pretrain';

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
  const largestFirst = [...new Set(grids)].sort((a, b) => b - a);
  const sized = imageSize !== null && imageSize > 0;
  const side = sized ? denseMapSide(imageSize) : null;
  const allowed = [...(sized ? spcSelectableGrids(imageSize, grids) : []), 0];
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
