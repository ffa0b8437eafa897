/**
 * `selfemd import PATH [--format F] [--images DIR] [--split S] [--name S] [--json]`: records a dataset
 * in the studio exactly as its import panel does (same detection, same report), so it shows up there
 * and in `selfemd finetune`'s data. `--images` names a COCO dataset's image folder when the usual
 * layouts (annotations/ + train/, images/, Roboflow's) do not find it, or a VOC dataset's instead of
 * JPEGImages/; `--split` picks a VOC list of ImageSets/Main (or a YOLO split).
 */
import { IMPORT_FORMATS, type ImportFormat } from '../../../shared/api/types';
import { ApiError } from '../../../shared/api/errors';
import { importFromPath } from '../../jobs/service/dataset-import';
import { parse } from '../args';
import { CliError } from '../cli-error';
import { openStudio } from '../home';

export async function importCommand(argv: string[]): Promise<void> {
  const { positionals, values: v } = parse(
    'import',
    argv,
    {
      format: { type: 'string' },
      images: { type: 'string' },
      split: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const [source, ...extra] = positionals;
  if (!source || extra.length)
    throw new CliError(
      'selfemd import: usage: selfemd import PATH [--format F] [--images DIR] [--split S] [--name S]',
    );
  const format = (v.format ?? 'auto') as ImportFormat;
  if (!IMPORT_FORMATS.includes(format))
    throw new CliError(
      `selfemd import: --format must be one of ${IMPORT_FORMATS.join(', ')}, got "${format}"`,
    );
  const studio = openStudio();
  try {
    const record = await importFromPath(
      studio.home,
      studio.store,
      { path: source, format, name: v.name, imageDir: v.images, split: v.split },
      () => undefined,
    ).catch((e: unknown) => {
      if (e instanceof ApiError)
        throw new CliError(`selfemd import: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      throw e;
    });
    if (v.json) {
      console.log(JSON.stringify(record, null, 2));
      return;
    }
    const skipped = record.importReport.skipped;
    console.log(
      `imported "${record.name}" (dataset ${record.id}, ${record.kind}): ${record.imageCount} images, ${record.annotationCount} objects, ${skipped.length} report entries`,
    );
    for (const s of skipped.slice(0, 10)) console.log(`  ${s.file}: ${s.reason}`);
    if (skipped.length > 10)
      console.log(`  … and ${skipped.length - 10} more (selfemd import … --json lists all)`);
  } finally {
    await studio.close();
  }
}
