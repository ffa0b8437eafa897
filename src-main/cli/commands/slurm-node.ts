/**
 * `selfemd slurm-node RUN_DIR`: what a Slurm job of the studio runs on its node (jobs/slurm). Not for
 * people: the supervisor writes RUN_DIR/job.json and submits a batch script that calls this.
 */
import { runOnNode } from '../../jobs/slurm/node-runner';
import { CliError } from '../cli-error';

export async function slurmNodeCommand(argv: string[]): Promise<void> {
  const [runDir, ...extra] = argv;
  if (!runDir || extra.length > 0)
    throw new CliError('selfemd slurm-node: expected exactly one argument, the run folder (RUN_DIR)');
  const code = await runOnNode(runDir);
  if (code !== 0) throw new CliError(`selfemd slurm-node: the engine worker ended with code ${code}`, code);
}
