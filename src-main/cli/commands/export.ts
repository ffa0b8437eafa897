/** `selfemd export RUN --format tfjs|safetensors --out PATH [--step N]`: the online backbone of a checkpoint. */
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { openStudio } from '../home';
import { resolveRunRef } from '../run-ref';
import { exportBackbone } from '../../jobs/tasks';

export async function exportCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(
    'export',
    argv,
    {
      format: { type: 'string' },
      out: { type: 'string' },
      step: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const ref = positionals[0];
  if (!ref)
    throw new CliError(
      'selfemd export: which run? usage: selfemd export RUN --format tfjs|safetensors --out PATH',
    );
  const format = values.format ?? 'safetensors';
  if (format !== 'tfjs' && format !== 'safetensors')
    throw new CliError(`selfemd export: --format must be tfjs or safetensors, got "${format}"`);
  if (!values.out)
    throw new CliError(
      'selfemd export: --out PATH is required (a folder for tfjs, a .safetensors file otherwise)',
    );
  const studio = openStudio();
  try {
    const runId = resolveRunRef(studio.store.listRuns(), ref, 'export');
    const result = await exportBackbone(studio.home, studio.store, {
      runId,
      format,
      outPath: values.out,
      step: numberFlag('export', 'step', values.step),
    }).catch((e: Error) => {
      throw new CliError(`selfemd export: ${e.message}`, 1);
    });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `exported the backbone of ${runId} at step ${result.checkpointStep} as ${result.format}: ${result.path} (${result.bytes} bytes)`,
      );
      if (result.pytorchNote) console.log(`PyTorch: ${result.pytorchNote}`);
    }
  } finally {
    await studio.close();
  }
}
