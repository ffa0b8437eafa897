/**
 * `selfemd transport RUN --image A [--image B]`: the transport plan between the feature maps of two
 * random crops (of A, or one of A and one of B), written as JSON and as a PNG figure like Fig. 5.
 * `--image demo:N` picks scene N of the built-in demo dataset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { openStudio } from '../home';
import { resolveRunRef } from '../run-ref';
import { computeTransport } from '../../jobs/tasks';
import type { ImageRef } from '../../jobs/protocol';
import { renderTransportFigure } from '../../engine/inspect/transport-figure';
import { makeFolder } from '../../engine/export/make-folder';

function imageRef(arg: string): ImageRef {
  const demo = /^demo:(\d+)$/.exec(arg);
  if (demo) return { demoIndex: Number(demo[1]) };
  if (!fs.existsSync(arg)) throw new CliError(`selfemd transport: --image ${arg}: no such file`);
  return { path: path.resolve(arg) };
}

export async function transportCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(
    'transport',
    argv,
    {
      image: { type: 'string', multiple: true },
      out: { type: 'string' },
      seed: { type: 'string' },
      step: { type: 'string' },
      grid: { type: 'string' },
    },
    true,
  );
  const ref = positionals[0];
  const images = values.image ?? [];
  if (!ref || images.length < 1 || images.length > 2)
    throw new CliError(
      'selfemd transport: usage: selfemd transport RUN --image A [--image B] [--out PREFIX] [--grid 7|5|3]',
    );
  const [image, image2] = images.map(imageRef);
  const studio = openStudio();
  try {
    const runId = resolveRunRef(studio.store.listRuns(), ref, 'transport');
    const result = await computeTransport(studio.home, studio.store, {
      runId,
      image,
      image2,
      seed: numberFlag('transport', 'seed', values.seed) ?? 0,
      step: numberFlag('transport', 'step', values.step),
      grid: numberFlag('transport', 'grid', values.grid),
    }).catch((e: Error) => {
      throw new CliError(`selfemd transport: ${e.message}`, 1);
    });
    const prefix = values.out ?? path.join(studio.home, 'runs', runId, `transport-seed${values.seed ?? 0}`);
    makeFolder(path.dirname(path.resolve(prefix)));
    const crops = result.crops.map((url) => Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')) as [
      Buffer,
      Buffer,
    ];
    fs.writeFileSync(`${prefix}.json`, JSON.stringify({ ...result, crops: undefined }, null, 1));
    fs.writeFileSync(`${prefix}.png`, await renderTransportFigure({ ...result, crops }));
    studio.store.addArtifact({
      runId,
      kind: 'transport',
      path: `${prefix}.png`,
      meta: { json: `${prefix}.json`, similarity: result.similarity },
    });
    console.log(
      `transport plan ${result.grid1.join('×')} → ${result.grid2.join('×')} at step ${result.checkpointStep}: S = ${result.similarity.toFixed(4)}, EMD loss ${result.loss.toFixed(4)}`,
    );
    console.log(`wrote ${prefix}.json and ${prefix}.png`);
  } finally {
    await studio.close();
  }
}
