import { describe, expect, it } from 'vitest';
import { buildProgram, commandWord } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';
import { hardway } from '../helpers/cli.ts';

const io: CliIO = { stdout: () => true, stderr: () => true, isTTY: false, env: {} };
const argv = (...args: string[]) => ['node', 'hardway', ...args];

describe('commandWord', () => {
  it('finds the command past global options, their values included', () => {
    expect(commandWord(argv('validate'))).toBe('validate');
    expect(commandWord(argv('-c', 'plan', 'up'))).toBe('up');
    expect(commandWord(argv('--config', 'x.yaml', '--json', '--concurrency', '4', 'plan', '--step', 'etcd'))).toBe('plan');
    expect(commandWord(argv('--config=x.yaml', 'status'))).toBe('status');
    expect(commandWord(argv('--help'))).toBeUndefined();
    expect(commandWord(argv('--', 'validate'))).toBeUndefined();
  });
});

describe('buildProgram', () => {
  it('loads only the named command, and every command without one', async () => {
    const names = async (...args: string[]) => (await buildProgram(io, argv(...args))).commands.map((command) => command.name());
    expect(await names('-c', 'x.yaml', 'validate')).toEqual(['validate']);
    expect(await names('up')).toEqual(['provision', 'up']);
    const all = await names('--help');
    expect(all).toEqual(expect.arrayContaining(['init', 'validate', 'plan', 'provision', 'up', 'rebuild', 'backup', 'restore', 'explain', 'destroy', 'pki', 'ssh', 'status', 'smoke', 'kubeconfig']));
    expect(await names('valdate')).toEqual(all);
  });

  it('a mistyped command still gets the suggestion commander makes from every command; exit 2', async () => {
    const result = await hardway(['valdate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'valdate'[\s\S]*validate/);
  });

  it('validate starts without the SSH, certificate and process libraries', async () => {
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
      const { main } = await import(${JSON.stringify(new URL('../../src/cli/main.ts', import.meta.url).href)});
      const code = await main(['node', 'hardway', '-c', ${JSON.stringify(new URL('../../examples/lab/cluster.yaml', import.meta.url).pathname)}, 'validate'], { stdout: () => true, stderr: (t) => process.stderr.write(t), isTTY: false, env: {} });
      process.stdout.write(JSON.stringify({ code, heavy: loaded.filter((url) => /node_modules\\/(ssh2|node-forge|execa|@aws-sdk|listr2)\\//.test(url)) }));`;
    const { execFileSync } = await import('node:child_process');
    const result = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { code: number; heavy: string[] };
    expect(result).toEqual({ code: 0, heavy: [] });
  });
});
