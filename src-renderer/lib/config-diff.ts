/** The rows of the runs comparison's config diff: only what differs where it applies. */
import { configPathApplies } from '../../shared/config/config-applies';
import { getConfigPath } from '../../shared/config/config-path';

/** One compared run's cell: its value, or n/a when the field means nothing for its method or data. */
export type ConfigDiffCell = { applies: true; value: unknown } | { applies: false };

export interface ConfigDiffRow {
  path: string;
  cells: ConfigDiffCell[];
}

/**
 * Of the paths whose values differ between the configs, those that still differ when each run's
 * inapplicable fields are left out (a BYOL run's `emd.*` and `moco.*` are defaults nobody chose):
 * at least two runs must use the field, with different values.
 */
export function configDiffRows(
  configs: readonly Record<string, unknown>[],
  differingPaths: readonly string[],
): ConfigDiffRow[] {
  const rows: ConfigDiffRow[] = [];
  for (const path of differingPaths) {
    const cells: ConfigDiffCell[] = configs.map((c) =>
      configPathApplies(c, path) ? { applies: true, value: getConfigPath(c, path) } : { applies: false },
    );
    const used = cells.flatMap((cell) => (cell.applies ? [JSON.stringify(cell.value ?? null)] : []));
    if (used.length >= 2 && new Set(used).size > 1) rows.push({ path, cells });
  }
  return rows;
}
