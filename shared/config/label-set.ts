/**
 * One label set for a detector: the train and val datasets must name the same categories, but their
 * ids and order may differ (a COCO train file numbers them its way, a VOC val folder in VOC's order),
 * so categories are matched by name. Used by the studio before a fine-tune starts and by the
 * training process when it loads the data.
 */

export interface NamedCategory {
  id: number;
  name: string;
}

/** Why two category lists are not one label set (names only in one, a name twice), or null when they are. */
export function labelSetDifference(
  train: readonly NamedCategory[],
  val: readonly NamedCategory[],
  names: { train: string; val: string } = { train: 'train', val: 'val' },
): string | null {
  const problems: string[] = [];
  for (const [list, who] of [
    [train, names.train],
    [val, names.val],
  ] as const) {
    const seen = new Set<string>();
    const twice = list.filter((c) => (seen.has(c.name) ? true : (seen.add(c.name), false)));
    if (twice.length) problems.push(`${who} names ${twice.map((c) => `"${c.name}"`).join(', ')} twice`);
  }
  const trainNames = new Set(train.map((c) => c.name));
  const valNames = new Set(val.map((c) => c.name));
  const onlyVal = [...valNames].filter((n) => !trainNames.has(n));
  const onlyTrain = [...trainNames].filter((n) => !valNames.has(n));
  const quote = (list: string[]) => list.map((n) => `"${n}"`).join(', ');
  if (onlyVal.length) problems.push(`only ${names.val} has ${quote(onlyVal)}`);
  if (onlyTrain.length) problems.push(`only ${names.train} has ${quote(onlyTrain)}`);
  return problems.length ? problems.join('; ') : null;
}

/** Each val category id → the train category id of the same name (call after labelSetDifference is null). */
export function categoryIdsByName(
  train: readonly NamedCategory[],
  val: readonly NamedCategory[],
): Map<number, number> {
  const trainId = new Map(train.map((c) => [c.name, c.id]));
  return new Map(val.map((c) => [c.id, trainId.get(c.name)!]));
}
