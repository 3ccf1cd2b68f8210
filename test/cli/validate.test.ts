// `hardway validate` starts fast: with the playbooks already checked in the cache it loads none of
// the task modules (nor what they import: node-forge, tar, eta), only the spec's schema and parser.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';
import { projectRoot } from '../helpers/context.ts';

describe('validate', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-validate-'));
    // A loader hook in the child records every module it loads.
    await writeFile(
      join(dir, 'hook.mjs'),
      `import { registerHooks } from 'node:module';\nimport { appendFileSync } from 'node:fs';\nregisterHooks({ load(url, context, next) { appendFileSync(process.env.HARDWAY_TEST_LOADED, url + '\\n'); return next(url, context); } });\n`,
    );
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('checks the playbooks with the modules once, then loads no task module while the cache holds them', async () => {
    const run = async (name: string) => {
      const loaded = join(dir, `${name}.loaded`);
      const result = await hardway(['validate', '-c', join(projectRoot, 'examples/lab/cluster.yaml')], {
        env: { XDG_CACHE_HOME: join(dir, 'cache'), HARDWAY_NO_CACHE: '', NODE_OPTIONS: `--import ${join(dir, 'hook.mjs')}`, HARDWAY_TEST_LOADED: loaded },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('is valid: cluster lab');
      return (await readFile(loaded, 'utf8')).split('\n').filter(Boolean);
    };
    const taskCode = (urls: string[]) => urls.filter((url) => /\/(src|dist)\/modules\/|\/node_modules\/(node-forge|tar|eta)\//.test(url));
    expect(taskCode(await run('first')).some((url) => /\/modules\/index\.(ts|js)$/.test(url))).toBe(true);
    expect(taskCode(await run('second'))).toEqual([]);
  });
});
