import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templateVars } from '../../src/engine/vars.ts';
import { describedText } from '../../src/modules/described.ts';
import { renderTemplate, templateArgs, templateModule } from '../../src/modules/template.ts';
import { unifiedDiff } from '../../src/modules/text-diff.ts';
import { testRunContext } from '../helpers/context.ts';
import { converge, remoteNode, type RemoteNode } from './remote-node.ts';

const DEMO = `[Service]
# <%= it.cluster %> member <%= it.node.name %>
ExecStart=/usr/local/bin/demo \\
  --name=<%= it.node.name %> \\
  --servers=<%= it.etcdServers %> \\
  --level=<%= it.level ?? 'info' %> \\
  --quote="<%= '<&>' %>"
`;

describe('renderTemplate', () => {
  it('renders the real units/etcd.service for a member, without HTML escaping', () => {
    const run = testRunContext();
    const node = run.inventory.nodes.find((candidate) => candidate.name === 'etcd-1')!;
    const unit = renderTemplate({ run, node, vars: templateVars(run, node) }, { src: 'etcd.service' }).toString('utf8');
    expect(unit).toContain('--name=etcd-1');
    expect(unit).toContain(`--initial-cluster=${templateVars(run, node).etcdInitialCluster}`);
  });

  it('names the template when it cannot render', () => {
    const run = testRunContext();
    expect(() => renderTemplate({ run, node: undefined, vars: {} }, { src: 'no-such.service' })).toThrow('cannot render units/no-such.service');
  });

  it('keeps playbook paths inside units/', () => {
    expect(templateArgs.safeParse({ src: '../package.json', dest: '/etc/x' }).success).toBe(false);
    expect(templateArgs.safeParse({ src: '/etc/passwd', dest: '/etc/x' }).success).toBe(false);
  });
});

describe('unifiedDiff', () => {
  it('shows changed lines with context and line numbers', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n');
    const after = ['a', 'b', 'c', 'D', 'e', 'f', 'g', 'h', 'i'].join('\n');
    expect(unifiedDiff(before, after, { before: 'old', after: 'new' }, 1)).toBe(['--- old', '+++ new', '@@ -3,3 +3,3 @@', ' c', '-d', '+D', ' e', '@@ -8,1 +8,2 @@', ' h', '+i'].join('\n'));
    expect(unifiedDiff('same', 'same', { before: 'a', after: 'b' })).toBe('');
  });
});

describe('template to a node (real sshd)', () => {
  let remote: RemoteNode;
  let projectRoot: string;
  beforeAll(async () => {
    projectRoot = await mkdtemp(join(tmpdir(), 'hardway-units-'));
    await mkdir(join(projectRoot, 'units'));
    await writeFile(join(projectRoot, 'units', 'demo.service'), DEMO);
    remote = await remoteNode({ projectRoot });
  });
  afterAll(async () => {
    await remote.stop();
    await rm(projectRoot, { recursive: true, force: true });
  });

  it('renders with the run variables plus vars, uploads, then is ok; a changed value shows as a diff', async () => {
    const dest = join(remote.root, 'demo.service');
    const first = await converge(templateModule, remote.context(), { src: 'demo.service', dest });
    expect(first.check).toMatchObject({ changed: true, reason: 'upload (missing)' });
    const rendered = await readFile(dest, 'utf8');
    expect(rendered).toContain('# test member controller-0');
    expect(rendered).toContain(`--servers=${templateVars(remote.run, remote.node).etcdServers}`);
    expect(rendered).toContain('--quote="<&>"');

    expect((await converge(templateModule, remote.context(), { src: 'demo.service', dest })).check).toEqual({ changed: false, reason: 'sha256 matches, mode 0644, owner root:root' });

    const ctx = remote.context();
    const args = templateArgs.parse({ src: 'demo.service', dest, vars: { level: 'debug' } });
    const check = await templateModule.check(ctx, args);
    expect(check).toMatchObject({ changed: true, reason: expect.stringMatching(/^upload \(content differs/) });
    expect(check.changed && check.diff).toContain('-  --level=info \\\n+  --level=debug \\');
    await templateModule.apply(ctx, args, check as never);
    expect(await readFile(dest, 'utf8')).toContain('--level=debug');
  });

  it('describes the rendered file as a heredoc that, typed on the node, gives the file a run would write', async () => {
    const dest = join(remote.root, 'described.service');
    const args = templateArgs.parse({ src: 'demo.service', dest, vars: { level: 'debug' }, mode: '0640' });
    const lines = describedText(templateModule.describe(remote.context(), args), remote.node);
    expect(lines[0]).toBe("# units/demo.service rendered with this cluster's values for controller-0:");
    expect(lines[1]).toMatch(new RegExp(`^cat > ${dest} <<'EOF'\n`));
    expect(lines[1]).toContain('  --level=debug \\\n');
    expect(lines.slice(2)).toEqual([`chmod 0640 ${dest}`]);
    await remote.transport.exec(lines.join('\n'));
    expect(await templateModule.check(remote.context(), args)).toMatchObject({ changed: false, reason: expect.stringMatching(/^sha256 matches, mode 0640/) });
  });

  it('checks a validated file before it replaces the old one: a failing check keeps the old file and says why', async () => {
    const dest = join(remote.root, 'validated.service');
    const good = { src: 'demo.service', dest, validate: 'grep -q member %s' };
    expect((await converge(templateModule, remote.context(), good)).applied).toMatchObject({ changed: true });
    const before = await readFile(dest, 'utf8');
    const failing = { src: 'demo.service', dest, vars: { level: 'debug' }, validate: 'grep -q no-such-line %s' };
    const error = await converge(templateModule, remote.context(), failing).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(`units/demo.service rendered for controller-0 fails \`grep -q no-such-line %s\`; ${dest} is left as it was`);
    expect(await readFile(dest, 'utf8')).toBe(before);
    // No staged copy is left behind.
    expect((await remote.transport.exec(`ls -a ${remote.root}`)).stdout).not.toContain('hardway-');
    // The transcript's lines stage, check, and only then move.
    const lines = describedText(templateModule.describe(remote.context(), templateArgs.parse(failing)), remote.node);
    expect(lines.slice(-2)).toEqual([`grep -q no-such-line ${dest}.hardway-new`, `mv -f ${dest}.hardway-new ${dest}`]);
  });

  it('takes a validate command in plain words only, with %s once', () => {
    expect(templateArgs.safeParse({ src: 'a', dest: '/a', validate: 'haproxy -c -f %s' }).success).toBe(true);
    for (const validate of ['haproxy -c -f %s; rm -rf /', 'haproxy -c -f', 'cat %s %s', 'x $(id) %s', 'x -f%s']) {
      expect(templateArgs.safeParse({ src: 'a', dest: '/a', validate }).success, validate).toBe(false);
    }
  });
});
