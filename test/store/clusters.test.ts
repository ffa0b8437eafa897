import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import type { SlurmClusterSettings } from '../../shared/dto/clusters';
import { openStore } from '../../src-main/store/db';
import { isStoreError } from '../../src-main/store/errors';
import { memoryStore, rawCount, tempStoreDir } from './helpers';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2VuLWZvci10ZXN0cw.sig-NOT-TO-LEAK-42';

export const cluster = (over: Partial<SlurmClusterSettings> = {}): SlurmClusterSettings => ({
  name: 'local-slurm',
  kind: 'slurm',
  endpoint: 'unix:/run/slurmrestd/slurmrestd.socket',
  apiVersion: 'v0.0.38',
  user: 'nobody',
  token: TOKEN,
  partition: 'debug',
  timeLimitMinutes: 30,
  cpusPerTask: 2,
  memoryMb: 2048,
  sharedFolder: '/srv/selfemd',
  nodeCommand: 'node /opt/selfemd/dist/cli/selfemd.mjs',
  ...over,
});

describe('clusters in the store', () => {
  const dirs: (() => void)[] = [];
  afterEach(() => dirs.splice(0).forEach((c) => c()));

  it('saves, lists without the token, returns it only from clusterSettings, and removes', () => {
    const store = memoryStore();
    const summary = store.saveCluster(cluster());
    expect(summary).toEqual({ ...cluster(), token: undefined, hasToken: true });
    expect('token' in summary).toBe(false);
    expect(JSON.stringify(store.listClusters())).not.toContain(TOKEN);
    expect(store.listClusters().map((c) => c.name)).toEqual(['local-slurm']);
    expect(store.clusterSettings('local-slurm')).toEqual(cluster());
    expect(store.hasCluster('local-slurm')).toBe(true);
    store.removeCluster('local-slurm');
    expect(store.listClusters()).toEqual([]);
    expect(store.hasCluster('local-slurm')).toBe(false);
    store.close();
  });

  it('keeps the token when an edit leaves it out, removes it when given empty or null', () => {
    const store = memoryStore();
    store.saveCluster(cluster());
    const { token: _t, ...edit } = cluster({ partition: 'gpu', account: 'lab' });
    expect(store.saveCluster(edit).hasToken).toBe(true);
    expect(store.clusterSettings('local-slurm')).toMatchObject({
      partition: 'gpu',
      account: 'lab',
      token: TOKEN,
    });
    // an optional field left out of an edit is cleared, not kept
    const { partition: _p, ...noPartition } = edit;
    expect(store.saveCluster(noPartition).partition).toBeUndefined();
    expect(store.saveCluster({ ...edit, token: '' }).hasToken).toBe(false);
    expect(store.clusterSettings('local-slurm').token).toBeUndefined();
    store.saveCluster({ ...edit, token: 'other' });
    expect(store.saveCluster({ ...edit, token: null }).hasToken).toBe(false);
    store.close();
  });

  it('refuses invalid settings naming the field, and unknown names as not-found', () => {
    const store = memoryStore();
    const refused = (over: Partial<SlurmClusterSettings>): string => {
      try {
        store.saveCluster(cluster(over));
      } catch (e) {
        expect(isStoreError(e, 'invalid')).toBe(true);
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused({ name: 'Bad Name' })).toMatch(/cluster\.name must be lower-case letters/);
    expect(refused({ name: 'local' })).toMatch(/cluster\.name "local" is reserved/);
    expect(refused({ endpoint: 'ftp://x' })).toMatch(
      /cluster\.endpoint must be http\(s\):\/\/host:port or unix:/,
    );
    expect(refused({ cpusPerTask: 0 })).toMatch(/cluster\.cpusPerTask must be ≥ 1, got 0/);
    expect(refused({ sharedFolder: 'shared/runs' })).toMatch(
      /cluster\.sharedFolder must be an absolute folder path/,
    );
    expect(() => store.clusterSettings('nope')).toThrow(/no cluster named "nope"/);
    expect(() => store.removeCluster('nope')).toThrow(/no cluster named "nope"/);
    expect(store.listClusters()).toEqual([]);
    store.close();
  });

  it('keeps the token in its own column: the settings column never holds it', () => {
    const t = tempStoreDir();
    dirs.push(t.cleanup);
    const file = t.file('studio.db');
    const store = openStore(file);
    store.saveCluster(cluster());
    store.close();
    expect(rawCount(file, 'SELECT count(*) FROM clusters WHERE instr(settings, ?) > 0', TOKEN)).toBe(0);
    expect(rawCount(file, 'SELECT count(*) FROM clusters WHERE token = ?', TOKEN)).toBe(1);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('without an OS store: the token as it is, in a database file only its owner can read', () => {
    const t = tempStoreDir();
    dirs.push(t.cleanup);
    const file = t.file('studio.db');
    const store = openStore(file);
    // No token yet: the file keeps the mode it was made with.
    store.saveCluster(cluster({ token: undefined }));
    expect(fs.statSync(file).mode & 0o077).not.toBe(0);
    store.saveCluster(cluster());
    for (const f of [file, `${file}-wal`, `${file}-shm`].filter((f) => fs.existsSync(f)))
      expect((fs.statSync(f).mode & 0o777).toString(8)).toBe('600');
    store.close();
    // A database that held a token before this rule is made owner-only when opened.
    fs.chmodSync(file, 0o644);
    openStore(file).close();
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
  });

  it('with an OS store (the app’s safeStorage): the column holds only the sealed token', () => {
    const t = tempStoreDir();
    dirs.push(t.cleanup);
    const file = t.file('studio.db');
    // A reversible stand-in for safeStorage: what matters is that the store seals and opens through it.
    const key = 0x5a;
    const box = {
      name: 'test box',
      seal: (plain: string) => Buffer.from([...Buffer.from(plain)].map((b) => b ^ key)),
      open: (sealed: Buffer) => Buffer.from([...sealed].map((b) => b ^ key)).toString(),
    };
    const store = openStore(file, { secrets: box });
    store.saveCluster(cluster());
    expect(store.clusterSettings('local-slurm').token).toBe(TOKEN);
    expect(JSON.stringify(store.listClusters())).not.toContain(TOKEN);
    store.close();
    expect(rawCount(file, 'SELECT count(*) FROM clusters WHERE instr(token, ?) > 0', TOKEN)).toBe(0);
    expect(rawCount(file, "SELECT count(*) FROM clusters WHERE token LIKE 'sealed:v1:%'")).toBe(1);
    // A process without the box (the CLI under plain Node) cannot use it, and says what to do.
    const plain = openStore(file);
    expect(plain.listClusters()[0]!.hasToken).toBe(true);
    expect(() => plain.clusterSettings('local-slurm')).toThrow(
      /the token of cluster local-slurm is sealed by the desktop app's OS protection .*selfemd clusters add local-slurm … --token-file FILE/,
    );
    plain.close();
  });
});
