/**
 * `selfemd clusters add|list|test|remove` and `--on` as a user runs them: refusals name the flag,
 * the token is read from a file and never printed, and `--on` names a configured cluster.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/store';
import { runSelfemd } from './run-selfemd';
import { tempDir } from '../temp-dir';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.Y2xpLXRva2VuLXNlY3JldA.cli-SIG-31337';
let home: string;
let shared: string;
const outputs: string[] = [];
const selfemd = async (...args: string[]) => {
  const r = await runSelfemd(home, args, { SELFEMD_DEBUG: '' });
  outputs.push(r.out, r.err);
  return r;
};

beforeAll(() => {
  home = tempDir('selfemd-clusters-cli-');
  shared = path.join(home, 'shared');
  fs.mkdirSync(shared);
  fs.writeFileSync(path.join(home, 'token.txt'), `${TOKEN}\n`);
});

describe('selfemd clusters', () => {
  it('adds a cluster with its token from a file, lists it without the token, and refuses bad flags by name', async () => {
    const [added, bad] = await Promise.all([
      selfemd(
        'clusters',
        'add',
        'lab',
        '--endpoint',
        'unix:/run/slurmrestd/slurmrestd.socket',
        '--user',
        'nobody',
        '--token-file',
        path.join(home, 'token.txt'),
        '--partition',
        'debug',
        '--time',
        '15',
        '--gres',
        'gpu:1',
        '--max-resubmits',
        '2',
        '--shared',
        shared,
        '--node-command',
        'node /opt/selfemd/selfemd.mjs',
      ),
      selfemd(
        'clusters',
        'add',
        'Lab',
        '--endpoint',
        'slurm:6820',
        '--user',
        'nobody',
        '--cpus',
        '0',
        '--node-command',
        'x',
      ),
    ]);
    expect(added.code, added.err).toBe(0);
    expect(added.out.trim()).toBe('cluster lab saved (unix:/run/slurmrestd/slurmrestd.socket; token stored)');
    expect(bad.code).toBe(2);
    // one line of refusal (besides the launcher's note when it rebuilt the app for changed sources)
    expect(bad.err.split('\n').filter((l) => l && !l.startsWith('building the app'))).toHaveLength(1);
    expect(bad.err).toContain('selfemd clusters add: NAME must be lower-case letters');
    expect(bad.err).toContain(
      '--endpoint must be http(s)://host:port or unix:/path/to/slurmrestd.socket, got "slurm:6820"',
    );
    expect(bad.err).toContain('--cpus must be ≥ 1, got 0');
    expect(bad.err).toContain('--shared is required');

    const [table, json] = await Promise.all([
      selfemd('clusters', 'list'),
      selfemd('clusters', 'list', '--json'),
    ]);
    expect(table.out.split('\n')[0]).toMatch(/^name\s+endpoint\s+user\s+token\s+partition/);
    expect(table.out.split('\n')[1]).toMatch(
      /^lab\s+unix:\/run\/slurmrestd\/slurmrestd\.socket\s+nobody\s+stored\s+debug\s+15 min\s+gpu:1/,
    );
    const listed = JSON.parse(json.out) as { name: string; hasToken: boolean; token?: string }[];
    expect(listed.map((c) => [c.name, c.hasToken, c.token])).toEqual([['lab', true, undefined]]);
    const store = openStore(path.join(home, 'studio.db'));
    expect(store.clusterSettings('lab').token).toBe(TOKEN);
    expect(store.clusterSettings('lab').maxResubmits).toBe(2);
    store.close();
  }, 120_000);

  it('tests the connection in words, failing with exit 1 when a check fails', async () => {
    const r = await selfemd('clusters', 'test', 'lab');
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(
      /^FAIL {2}slurmrestd: slurmrestd did not answer at unix:\/run\/slurmrestd\/slurmrestd\.socket \(v0\.0\.38\): /,
    );
    expect(lines[1]).toBe(`ok    shared folder: ${shared} is a writable folder here`);
    // slurmrestd's local auth runs jobs as nobody, who cannot enter the test's private temp folder
    expect(lines[2]).toMatch(/^FAIL {2}job user: nobody \(uid \d+\), whom jobs run as, cannot enter /);
    expect(lines[2]).toContain(`cannot enter ${home}`);
    expect(r.err.trim()).toBe('selfemd clusters test: lab failed slurmrestd, job user');
    expect((await selfemd('clusters', 'test', 'nope')).err.trim()).toBe(
      'selfemd clusters test: no cluster named "nope"',
    );
  }, 120_000);

  it('checks --on against the configured clusters', async () => {
    const [unknown, malformed, study] = await Promise.all([
      selfemd('pretrain', '--data', 'demo', '--on', 'elsewhere'),
      selfemd(
        'finetune',
        '--detector',
        'retinanet',
        '--init',
        'random',
        '--train',
        'demo',
        '--val',
        'demo',
        '--on',
        'Bad Name',
      ),
      selfemd('study', '--arms', 'random,byol', '--data', 'demo', '--on', 'elsewhere'),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.err.trim()).toBe(
      'selfemd pretrain: --on elsewhere: no cluster named "elsewhere". Configured clusters: lab (or local for this machine).',
    );
    expect(malformed.err.trim()).toMatch(/^selfemd finetune: --on must be lower-case letters, digits and -/);
    expect(study.err.trim()).toMatch(/^selfemd study: --on elsewhere: no cluster named "elsewhere"/);
    const store = openStore(path.join(home, 'studio.db'));
    expect(store.listRuns()).toEqual([]);
    store.close();
  }, 180_000);

  it('removes a cluster, and never printed the token', async () => {
    expect((await selfemd('clusters', 'remove', 'lab')).out.trim()).toBe('cluster lab removed');
    expect((await selfemd('clusters', 'list')).out).toMatch(/^no clusters yet/);
    expect((await selfemd('clusters', 'remove', 'lab')).err.trim()).toBe(
      'selfemd clusters remove: no cluster named "lab"',
    );
    expect(outputs.join('\n')).not.toContain(TOKEN);
  }, 120_000);
});
