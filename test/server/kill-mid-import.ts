/**
 * Run as a child process by import-leftovers.test.ts: opens the studio home argv[2], imports argv[3]
 * and SIGKILLs itself inside the write of the dataset's boxes, as a kill -9 mid-import would: its
 * staging folder holds the index and a half-written temporary file.
 */
import { setWriteFaultForTests } from '../../src-main/engine/disk-write';
import { StudioService } from '../../src-main/jobs/studio-service';

const [home, source] = process.argv.slice(2);
const service = StudioService.open({ home: home!, transport: 'browser', version: 'test', seedDemos: false });
setWriteFaultForTests((file) => {
  if (file.includes('boxes.json')) process.kill(process.pid, 'SIGKILL');
  return undefined;
});
await service.handle('datasets.import', { path: source });
console.error('kill-mid-import: the import finished; it should have been killed');
process.exit(3);
