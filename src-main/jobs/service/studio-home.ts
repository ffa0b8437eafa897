/** Where the studio keeps its data: $SELFEMD_HOME, else ~/.selfemd (the CLI uses the same folder). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function studioHome(explicit?: string): string {
  const home = path.resolve(explicit || process.env.SELFEMD_HOME || path.join(os.homedir(), '.selfemd'));
  fs.mkdirSync(home, { recursive: true });
  return home;
}
