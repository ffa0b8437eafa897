/**
 * `selfemd info`: which backend runs here, its version and threads (webgpu: the adapter and its limits),
 * and why others were passed over. `--gpu NAME` / `--gpu-power` choose the webgpu adapter.
 */
import { describeBackend, initBackend, releaseBackend } from '../../engine/backend/select';
import { BACKEND_CHOICES, type BackendChoice } from '../../../shared/config/pretrain';
import { listBackbones } from '../../engine/models/registry';
import { gpuPowerFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { studioHome } from '../home';

export async function infoCommand(argv: string[]): Promise<void> {
  const { values } = parse('info', argv, {
    backend: { type: 'string' },
    gpu: { type: 'string' },
    'gpu-power': { type: 'string' },
    json: { type: 'boolean' },
  });
  const choice = (values.backend ?? process.env.SELFEMD_BACKEND ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice))
    throw new CliError(`selfemd info: --backend must be one of ${BACKEND_CHOICES.join(', ')}`);
  const power = gpuPowerFlag('info', values['gpu-power']);
  const info = await initBackend(choice, { gpu: values.gpu, gpuPower: power });
  // Dawn's device is released so that the process exits.
  releaseBackend();
  if (values.json) {
    console.log(
      JSON.stringify(
        { backend: info, backbones: listBackbones(), home: studioHome(), node: process.version },
        null,
        2,
      ),
    );
    return;
  }
  console.log(describeBackend(info));
  console.log(`backbones: ${listBackbones().join(', ')}`);
  console.log(`data folder: ${studioHome()}`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
}
