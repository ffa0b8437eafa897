/** `selfemd predict RUN --image FILE`: detections of a fine-tuned run as JSON, drawn on a PNG. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { BACKEND_CHOICES, type BackendChoice } from '../../../shared/config/pretrain';
import { initBackend } from '../../engine/backend/select';
import { decodeForDetection } from '../../engine/detection/datasets';
import { drawBoxes, loadFinetunedDetector, predictImage, writePng } from '../../engine/detection/predict';
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { studioHome } from '../home';
import { findRunRef, studioRuns } from '../run-ref';

export async function predictCommand(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse(
    'predict',
    argv,
    {
      image: { type: 'string' },
      out: { type: 'string' },
      'min-score': { type: 'string' },
      backend: { type: 'string' },
    },
    true,
  );
  const [run, ...extra] = positionals;
  if (!run || extra.length)
    throw new CliError(
      'selfemd predict: usage: selfemd predict RUN --image FILE [--out FILE.png] [--min-score X]',
    );
  if (!v.image) throw new CliError('selfemd predict: --image FILE is required');
  if (!fs.existsSync(v.image)) throw new CliError(`selfemd predict: --image ${v.image}: no such file`);
  const minScore = numberFlag('predict', 'min-score', v['min-score']) ?? 0.3;
  const home = studioHome();
  const byRef = () => {
    const id = findRunRef(studioRuns(home), run, 'predict');
    return id === null ? undefined : path.join(home, 'runs', id);
  };
  const runDir = [run, path.join(home, 'runs', run)].find((p) => fs.existsSync(p)) ?? byRef();
  if (!runDir)
    throw new CliError(
      `selfemd predict: ${run}: not a run folder, nor a run id, id prefix or name (see selfemd runs)`,
    );

  const backend = (v.backend ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend))
    throw new CliError(`selfemd predict: --backend must be one of ${BACKEND_CHOICES.join(', ')}`);
  await initBackend(backend);
  let model;
  try {
    model = loadFinetunedDetector(runDir);
  } catch (e) {
    throw new CliError(`selfemd predict: ${(e as Error).message}`);
  }
  try {
    let meta: sharp.Metadata;
    try {
      meta = await sharp(v.image).metadata();
    } catch (e) {
      throw new CliError(
        `selfemd predict: --image ${v.image}: not a decodable image (${(e as Error).message})`,
      );
    }
    const swap = (meta.orientation ?? 1) >= 5;
    const width = (swap ? meta.height : meta.width) ?? 0;
    const height = (swap ? meta.width : meta.height) ?? 0;
    const image = await decodeForDetection(v.image, width, height, Math.min(width, height));
    const boxes = await predictImage(model, image, minScore);
    const out = v.out ?? `${v.image.replace(/\.[^./\\]+$/, '')}.detections.png`;
    await writePng(out, drawBoxes(image, boxes, model.categories));
    console.log(
      JSON.stringify(
        {
          image: path.resolve(v.image),
          width,
          height,
          checkpoint: model.checkpointDir,
          png: path.resolve(out),
          detections: boxes,
        },
        null,
        2,
      ),
    );
  } finally {
    model.detector.dispose();
  }
}
