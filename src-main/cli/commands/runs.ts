/** `selfemd runs` (list) and `selfemd resume RUN`. */
import { parse } from '../args';
import { CliError } from '../cli-error';
import { followRun } from '../follow-run';
import { openStudio } from '../home';
import { resolveRunRef } from '../run-ref';
import { printTable } from '../table';

export async function runsCommand(argv: string[]): Promise<void> {
  const { values } = parse('runs', argv, { json: { type: 'boolean' } });
  const studio = openStudio();
  try {
    const runs = studio.store.listRuns();
    if (values.json) {
      console.log(JSON.stringify(runs, null, 2));
      return;
    }
    if (runs.length === 0) {
      console.log('no runs yet: try  selfemd pretrain --data demo');
      return;
    }
    const rows = runs.map((r) => [
      r.id,
      r.name,
      r.kind,
      r.method,
      r.backbone,
      r.status,
      `${r.step}/${r.totalSteps ?? '?'}`,
      r.backend?.name ?? '-',
      new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' '),
    ]);
    const header = ['id', 'name', 'kind', 'method', 'backbone', 'status', 'step', 'backend', 'created'];
    printTable(header, rows);
  } finally {
    await studio.close();
  }
}

export async function resumeCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse('resume', argv, { json: { type: 'boolean' } }, true);
  const ref = positionals[0];
  if (!ref)
    throw new CliError('selfemd resume: which run? usage: selfemd resume RUN (id, id prefix or name)');
  const studio = openStudio();
  try {
    const runId = resolveRunRef(studio.store.listRuns(), ref, 'resume');
    try {
      studio.manager.resume(runId);
    } catch (e) {
      throw new CliError(`selfemd resume: ${(e as Error).message}`);
    }
    await followRun(studio, runId, { json: values.json });
  } finally {
    await studio.close();
  }
}
