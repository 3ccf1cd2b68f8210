import { describe, expect, it } from 'vitest';
import { HardwayError, PrerequisiteError } from '../../../src/errors.ts';
import { checkLabPrerequisites, findExecutable, type HostFacts } from '../../../src/providers/lab/preflight.ts';

function host(overrides: Partial<HostFacts> & { missing?: string[] } = {}): HostFacts {
  const missing = overrides.missing ?? [];
  return { platform: 'linux', euid: 0, has: async (tool) => !missing.includes(tool), ...overrides };
}

async function failure(facts: HostFacts): Promise<HardwayError> {
  const error = await checkLabPrerequisites(facts).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(PrerequisiteError);
  return error as HardwayError;
}

describe('lab prerequisites', () => {
  it('passes on Linux as root with every tool', async () => {
    await expect(checkLabPrerequisites(host())).resolves.toBeUndefined();
  });

  it('refuses a non-root user with exit 3 and says to use sudo', async () => {
    const error = await failure(host({ euid: 1000 }));
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('root');
    expect(error.hint).toContain('sudo');
  });

  it('refuses other platforms', async () => {
    expect((await failure(host({ platform: 'darwin' }))).message).toContain('Linux');
  });

  it('names every missing tool with its Debian package in one message', async () => {
    const error = await failure(host({ missing: ['systemd-nspawn', 'debootstrap'] }));
    expect(error.message).toContain('systemd-nspawn (package systemd-container)');
    expect(error.message).toContain('debootstrap (package debootstrap)');
    expect(error.hint).toBe('Install it: apt-get install systemd-container debootstrap');
  });

  it('finds tools in the sbin directories even when PATH leaves them out', async () => {
    expect(await findExecutable('sh', { PATH: '' })).toMatch(/\/sh$/);
    expect(await findExecutable('no-such-tool-hardway', { PATH: '/usr/bin' })).toBeUndefined();
  });
});
