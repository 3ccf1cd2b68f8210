import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HardwayError } from '../../../src/errors.ts';
import { chooseMirror, parseAptSources, resolveMirror } from '../../../src/providers/lab/mirror.ts';

const debianSources = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe('apt sources', () => {
  it('parses deb822 stanzas', () => {
    const sources = parseAptSources('debian.sources', debianSources);
    expect(sources).toHaveLength(2);
    expect(sources[0]).toMatchObject({ types: ['deb'], uris: ['http://deb.debian.org/debian'], suites: ['bookworm', 'bookworm-updates'], enabled: true });
  });

  it('parses one-line entries with options and comments', () => {
    const sources = parseAptSources('sources.list', '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ trixie main\ndeb-src http://mirror.example/debian trixie main\n');
    expect(sources).toEqual([
      { file: 'sources.list', types: ['deb'], uris: ['http://mirror.example/debian/'], suites: ['trixie'], enabled: true },
      { file: 'sources.list', types: ['deb-src'], uris: ['http://mirror.example/debian'], suites: ['trixie'], enabled: true },
    ]);
  });

  it('chooses the archive listing the suite, never the security archive or a third-party repository', () => {
    const sources = [
      ...parseAptSources('nodesource.list', 'deb https://deb.nodesource.com/node_20.x nodistro main\n'),
      ...parseAptSources('debian.sources', debianSources),
    ];
    expect(chooseMirror(sources, 'bookworm')).toBe('http://deb.debian.org/debian');
    // A suite the machine does not use still comes from its Debian archive.
    expect(chooseMirror(sources, 'trixie')).toBe('http://deb.debian.org/debian');
    expect(chooseMirror(parseAptSources('x.list', 'deb https://deb.nodesource.com/node_20.x nodistro main\n'), 'bookworm')).toBeUndefined();
  });

  it('skips disabled stanzas and source-only entries', () => {
    const sources = parseAptSources('a.sources', 'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\nTypes: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n');
    expect(chooseMirror(sources, 'bookworm')).toBeUndefined();
  });
});

describe('resolveMirror', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prefers the spec, then reads sources.list and sources.list.d', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-apt-'));
    await mkdir(join(dir, 'sources.list.d'));
    await writeFile(join(dir, 'sources.list.d', 'debian.sources'), debianSources);
    await writeFile(join(dir, 'sources.list.d', 'old.list.disabled'), 'deb http://disabled.example/debian bookworm main\n');
    expect(await resolveMirror('http://spec.example/debian/', 'bookworm', dir)).toBe('http://spec.example/debian');
    expect(await resolveMirror(undefined, 'bookworm', dir)).toBe('http://deb.debian.org/debian');
    await writeFile(join(dir, 'sources.list'), 'deb http://local.example/debian bookworm main\n');
    expect(await resolveMirror(undefined, 'bookworm', dir)).toBe('http://local.example/debian');
  });

  it('fails with exit 3 and says to set lab.mirror when no Debian archive is configured', async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-apt-'));
    const error = await resolveMirror(undefined, 'bookworm', dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HardwayError);
    expect((error as HardwayError).exitCode).toBe(3);
    expect((error as HardwayError).hint).toContain('lab.mirror');
  });
});
