/**
 * How the CLI addresses a run: its id, a unique prefix of its id, or its name (`selfemd export
 * st-byol`, `--init st-byol`). An exact id wins, then an exact name, then a prefix; a name or prefix
 * that fits several runs is refused with the candidates listed, never guessed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStore } from '../store';
import { CliError } from './cli-error';

export interface RunRef {
  id: string;
  name: string;
}

/** The id `ref` names, null when it names none; throws a CliError when it names several. */
export function findRunRef(runs: readonly RunRef[], ref: string, command: string): string | null {
  if (runs.some((r) => r.id === ref)) return ref;
  const ambiguous = (what: string, hits: readonly RunRef[]) =>
    new CliError(
      `selfemd ${command}: ${what} "${ref}" fits ${hits.length} runs (${hits
        .slice(0, 5)
        .map((r) => `${r.id} "${r.name}"`)
        .join(', ')}${hits.length > 5 ? ', …' : ''}): give the run id`,
    );
  const named = runs.filter((r) => r.name === ref);
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1) throw ambiguous('the name', named);
  const prefixed = ref.length > 0 ? runs.filter((r) => r.id.startsWith(ref)) : [];
  if (prefixed.length === 1) return prefixed[0]!.id;
  if (prefixed.length > 1) throw ambiguous('the id prefix', prefixed);
  return null;
}

/** Like findRunRef, but a ref that names no run is an error too. */
export function resolveRunRef(runs: readonly RunRef[], ref: string, command: string): string {
  const id = findRunRef(runs, ref, command);
  if (id === null)
    throw new CliError(`selfemd ${command}: no run with id, id prefix or name "${ref}" (see selfemd runs)`);
  return id;
}

/** The runs recorded in the studio at `home` (none when it has no database yet). */
export function studioRuns(home: string): RunRef[] {
  const db = path.join(home, 'studio.db');
  if (!fs.existsSync(db)) return [];
  const store = openStore(db);
  try {
    return store.listRuns().map((r) => ({ id: r.id, name: r.name }));
  } finally {
    store.close();
  }
}
