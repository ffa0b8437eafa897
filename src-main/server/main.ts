/**
 * `npm run serve`: the studio in browser mode. Prints the link (with its one-time token) and keeps
 * running until Ctrl-C, which pauses live runs so they resume later.
 *
 *   node dist/app/server.mjs [--port N] [--home DIR]        (built by scripts/build-app.mjs)
 *   node --import tsx src-main/server/main.ts [--port N] [--home DIR]    (from the sources)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StudioService } from '../jobs/studio-service';
import { probeWebGpu } from '../jobs/service/hardware';
import { studioHome } from '../jobs/service/studio-home';
import { startStudioServer } from './studio-server';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, home: { type: 'string' }, renderer: { type: 'string' } },
    strict: true,
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535, got ${values.port}`);
  const rendererDir = path.resolve(values.renderer ?? path.join(repo, 'dist', 'renderer'));
  const version = (
    JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const service = StudioService.open({
    home: studioHome(values.home),
    transport: 'browser',
    version,
    uploads: true,
    probeGpu: () => probeWebGpu(),
  });
  const server = await startStudioServer({ service, port, rendererDir });
  console.log(`Self-EMD Studio (browser mode) is at ${server.url}`);
  console.log(`  data: ${service.home}   stop: Ctrl-C (live runs are paused and can be resumed)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: pausing live runs and closing…`);
    await server.close();
    await service.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(`selfemd serve: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
