/** `selfemd info`: which backend runs here, its version and threads, and why others were passed over. */
import { describeBackend, initBackend } from '../../engine/backend/select';
import { BACKEND_CHOICES, type BackendChoice } from '../../../shared/config/pretrain';
import { listBackbones } from '../../engine/models/registry';
import { parse } from '../args';
import { CliError } from '../cli-error';
import { studioHome } from '../home';

export async function infoCommand(argv: string[]): Promise<void> {
  const { values } = parse('info', argv, { backend: { type: 'string' }, json: { type: 'boolean' } });
  const choice = (values.backend ?? process.env.SELFEMD_BACKEND ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(choice))
    throw new CliError(`selfemd info: --backend must be one of ${BACKEND_CHOICES.join(', ')}`);
  const info = await initBackend(choice);
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
  console.log(describeBackend());
  console.log(`backbones: ${listBackbones().join(', ')}`);
  console.log(`data folder: ${studioHome()}`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
}
