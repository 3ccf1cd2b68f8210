// The docs stay true to the code: a page per step, every quoted `hardway` command real (checked
// against the CLI's own --help), every quoted explain/validate output identical to what the command
// prints, every relative link resolving, and the Vagrantfile's VMs identical to the example specs.
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardway } from '../helpers/cli.ts';
import { quotedCommands, shellWords } from './commands.ts';
import { currentOutput, docsDir, docsFiles, explainBlocks, readDoc, repoRoot } from './explain-blocks.ts';
import { HelpPages, parseHelp, problemsWith } from './help.ts';
import { evaluateVagrantfile, installed, run, vagrantfile, vagrantTable } from './vagrant.ts';

const files = await docsFiles();
const documents = new Map(await Promise.all(files.map(async (file) => [file, await readDoc(file)] as const)));
const help = new HelpPages();

interface PlaybookHead {
  step: string;
  chapter?: string;
  file: string;
}

async function playbooks(): Promise<PlaybookHead[]> {
  const dir = join(repoRoot, 'playbooks');
  const names = (await readdir(dir)).filter((name) => name.endsWith('.yaml')).sort();
  return Promise.all(
    names.map(async (name) => {
      const data = parseYaml(await readFile(join(dir, name), 'utf8')) as { step: string; chapter?: string };
      return { step: data.step, chapter: data.chapter, file: name };
    }),
  );
}

describe('a docs page per step', async () => {
  const steps = await playbooks();

  it('finds the playbooks', () => {
    expect(steps.map((step) => step.step)).toContain('etcd');
  });

  it.each(steps)('docs/steps/$step.md exists, names its KTHW chapter and links its playbook', ({ step, chapter, file }) => {
    const page = documents.get(`docs/steps/${step}.md`);
    expect(page, `docs/steps/${step}.md is missing`).toBeDefined();
    expect(page).toContain(`playbooks/${file}`);
    // The chapter's own name (before any parenthesised note), as `hardway explain` prints it.
    if (chapter) expect(page).toContain(chapter.split(' (')[0]!);
  });

  it('docs/README.md links every step page and the PKI, troubleshooting and Vagrant pages', () => {
    const index = documents.get('docs/README.md') ?? '';
    for (const { step } of steps) expect(index).toContain(`(steps/${step}.md)`);
    for (const page of ['pki.md', 'troubleshooting.md', 'vagrant.md']) expect(index).toContain(`(${page})`);
  });
});

describe('quoted hardway commands are real', () => {
  it('the checker reads commands, subcommands and flags from --help', async () => {
    const page = parseHelp((await hardway(['provision', '--help'])).stdout);
    expect(page.options.get('--step')).toBe(true);
    expect(page.options.get('--dry-run')).toBe(false);
    expect((await help.page(['pki'])).commands).toContain('inspect');
  });

  it('the checker refuses what does not exist (so this test can fail)', async () => {
    const check = async (line: string) => problemsWith(quotedCommands('x.md', line)[0]!.words, help);
    expect(await check('`hardway explain etcd --bogus`')).toEqual(['unknown flag --bogus for "hardway explain"']);
    expect(await check('`hardway frobnicate`')).toHaveLength(1);
    expect(await check('`hardway pki rotate`')).toHaveLength(1);
    expect(await check('`hardway validate --step etcd`')).toEqual(['unknown flag --step for "hardway validate"']);
    expect(await check('`sudo hardway -c x.yaml provision --step etcd --nodes=etcd-0 --json`')).toEqual([]);
    expect(await check('`hardway explain STEP [--node N]`')).toEqual([]);
  });

  it('reads prompts, wrappers, pipes, comments and continued lines', () => {
    const markdown = [
      '```sh',
      '$ sudo npx hardway up -c a.yaml \\',
      '  --dry-run | tee log   # all',
      'echo hardway',
      '```',
      'Run `node bin/hardway.js plan --step etcd` first.',
      '```text',
      'hardway (native keys)   721 ms',
      '```',
      '```console',
      '$ hardway explain pki',
      'hardway explain output that is not a command',
      '```',
    ].join('\n');
    const found = quotedCommands('x.md', markdown);
    expect(found.map((command) => [command.line, command.words])).toEqual([
      [2, ['up', '-c', 'a.yaml', '--dry-run']],
      [6, ['plan', '--step', 'etcd']],
      [11, ['explain', 'pki']],
    ]);
    expect(shellWords(`explain 'a b' "c\\"d" e#f # g`)).toEqual(['explain', 'a b', 'c"d', 'e#f']);
  });

  it.each(files)('%s', async (file) => {
    const commands = quotedCommands(file, documents.get(file)!);
    const problems: string[] = [];
    for (const command of commands) {
      for (const problem of await problemsWith(command.words, help)) problems.push(`${command.file}:${command.line}: \`${command.text}\`: ${problem}`);
    }
    expect(problems).toEqual([]);
  });

  it('the step pages quote commands at all', () => {
    const count = files.filter((file) => file.startsWith('docs/steps/')).reduce((sum, file) => sum + quotedCommands(file, documents.get(file)!).length, 0);
    expect(count).toBeGreaterThan(20);
  });
});

describe('quoted explain and validate output is what the command prints', () => {
  const blocks = files.flatMap((file) => explainBlocks(file, documents.get(file)!));

  it('every step page quotes `hardway explain` for the example lab', () => {
    for (const file of files.filter((name) => name.startsWith('docs/steps/'))) {
      const step = file.replace(/^docs\/steps\/|\.md$/g, '');
      expect(
        blocks.some((block) => block.file === file && block.args[0] === 'explain' && block.args[1] === step && block.args.join(' ').includes('examples/lab/cluster.yaml')),
        `${file} quotes no \`hardway explain ${step} -c examples/lab/cluster.yaml\` block`,
      ).toBe(true);
    }
  });

  it.each(blocks.map((block) => ({ ...block, label: `${block.file}:${block.line} hardway ${block.args.join(' ')}` })))('$label', async (block) => {
    const output = await currentOutput(block.args);
    // On a difference: `node test/docs/update-explain.ts` rewrites the block from the real command.
    expect(block.written).toBe(output);
  });
});

describe('relative links in the docs resolve', () => {
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
  const anchorsOf = (markdown: string) => new Set([...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => slug(match[1]!)));

  it.each(files)('%s', async (file) => {
    const markdown = documents.get(file)!;
    const broken: string[] = [];
    for (const match of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path ? resolve(dirname(join(repoRoot, file)), path) : join(repoRoot, file);
      if (!existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        const anchors = anchorsOf(await readFile(resolved, 'utf8'));
        if (!anchors.has(anchor)) broken.push(`${target}: no heading with that anchor`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the docs directory holds the pages this suite reads', () => {
    expect(existsSync(join(docsDir, 'steps'))).toBe(true);
    expect(files).toContain('docs/troubleshooting.md');
  });
});

interface ValidateJson {
  valid: boolean;
  inventory: { nodes: { name: string; roles: string[]; internalIP: string; sshAddress: string; sshPort: number; user: string }[]; endpoint: { host: string; port: number } };
}

const layouts = [
  { layout: 'external', spec: 'examples/vagrant/cluster.yaml' },
  { layout: 'stacked', spec: 'examples/vagrant/stacked.yaml' },
] as const;

describe('the Vagrantfile and examples/vagrant agree', async () => {
  const table = await vagrantTable();

  it.each(layouts)('$spec validates and lists exactly the $layout VMs of the Vagrantfile', async ({ layout, spec }) => {
    const result = await hardway(['validate', '--json', '-c', spec], { cwd: repoRoot });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { valid, inventory } = JSON.parse(result.stdout) as ValidateJson;
    expect(valid).toBe(true);
    const fromSpec = inventory.nodes.map((node) => ({ name: node.name, role: node.roles[0], ip: node.internalIP }));
    expect(table.get(layout)).toEqual(fromSpec);
    for (const node of inventory.nodes) expect(node.sshAddress).toBe(node.internalIP);
    expect(inventory.nodes.every((node) => node.user === 'root' && node.sshPort === 22)).toBe(true);
    expect(inventory.endpoint).toEqual({ host: '192.168.56.30', port: 6443 });
  });

  it('the addresses follow the documented plan: controllers .10+, etcd .20+, lb .30 on 192.168.56.0/24', () => {
    for (const [, nodes] of table) {
      for (const node of nodes) {
        const index = Number(node.name.split('-')[1]);
        const base = { controller: 10, etcd: 20, lb: 30 }[node.role];
        expect(base, `${node.name}: unknown role ${node.role}`).toBeDefined();
        expect(node.ip).toBe(`192.168.56.${base! + index}`);
      }
    }
    expect(table.get('external')?.filter((node) => node.role === 'etcd')).toHaveLength(3);
    expect(table.get('stacked')?.filter((node) => node.role === 'controller')).toHaveLength(3);
  });

  it('the specs log in with the private half of the key the Vagrantfile authorizes by default', async () => {
    const text = await readFile(vagrantfile, 'utf8');
    const defaultPub = /ENV\.fetch\("HARDWAY_SSH_PUBKEY", "([^"]+)"\)/.exec(text)?.[1];
    expect(defaultPub).toBe('~/.ssh/id_ed25519.pub');
    for (const { spec } of layouts) {
      const data = parseYaml(await readFile(join(repoRoot, spec), 'utf8')) as { ssh: { keyPath: string; user: string } };
      expect(`${data.ssh.keyPath}.pub`).toBe(defaultPub);
    }
  });
});

describe.skipIf(!(await installed('ruby')))('the Vagrantfile, evaluated by Ruby', () => {
  let dir = '';
  let pubkey = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hardway-docs-'));
    const generated = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'docs-test', '-f', join(dir, 'key')]);
    expect(generated.code).toBe(0);
    pubkey = (await readFile(join(dir, 'key.pub'), 'utf8')).trim();
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is valid Ruby', async () => {
    const result = await run('ruby', ['-wc', vagrantfile]);
    expect(result.stdout.trim()).toBe('Syntax OK');
    expect(result.stderr).toBe('');
  });

  it.each(layouts)('HARDWAY_TOPOLOGY=$layout defines the VMs of $spec, each with its key, address and sizes', async ({ layout }) => {
    const result = await evaluateVagrantfile(['up'], { HARDWAY_TOPOLOGY: layout, HARDWAY_SSH_PUBKEY: join(dir, 'key.pub') });
    expect(result.stderr).toBe('');
    const config = result.config!;
    expect(config.box).toBe('debian/bookworm64');
    const table = (await vagrantTable()).get(layout)!;
    expect(config.machines.map((machine) => ({ name: machine.name, ip: machine.networks[0]?.options.ip }))).toEqual(table.map((node) => ({ name: node.name, ip: node.ip })));
    for (const machine of config.machines) {
      expect(machine.hostname).toBe(machine.name);
      expect(machine.networks).toEqual([{ type: 'private_network', options: { ip: expect.stringMatching(/^192\.168\.56\./) } }]);
      const role = table.find((node) => node.name === machine.name)!.role;
      expect(machine.provisioners[0]?.options.args).toEqual([role, pubkey]);
      const sizes = { controller: { cpus: 2, memory: 2048 }, etcd: { cpus: 1, memory: 1024 }, lb: { cpus: 1, memory: 512 } }[role];
      expect(machine.providers.virtualbox).toEqual(sizes);
      expect(machine.providers.libvirt).toEqual(sizes);
    }
  });

  it('takes sizes from the environment and refuses bad values, layouts and a private key', async () => {
    const key = { HARDWAY_SSH_PUBKEY: join(dir, 'key.pub') };
    const sized = await evaluateVagrantfile(['up'], { ...key, HARDWAY_CONTROLLER_MEMORY: '4096', HARDWAY_ETCD_CPUS: '2' });
    const byName = new Map(sized.config!.machines.map((machine) => [machine.name, machine.providers.virtualbox]));
    expect(byName.get('controller-1')).toEqual({ cpus: 2, memory: 4096 });
    expect(byName.get('etcd-2')).toEqual({ cpus: 2, memory: 1024 });
    expect(byName.get('lb-0')).toEqual({ cpus: 1, memory: 512 });

    const badSize = await evaluateVagrantfile(['up'], { ...key, HARDWAY_LB_MEMORY: '1g' });
    expect(badSize.code).not.toBe(0);
    expect(badSize.stderr).toContain('HARDWAY_LB_MEMORY must be a whole number');
    const badLayout = await evaluateVagrantfile(['status'], { HARDWAY_TOPOLOGY: 'mesh' });
    expect(badLayout.code).not.toBe(0);
    expect(badLayout.stderr).toContain('HARDWAY_TOPOLOGY must be one of external, stacked');
    const privateKey = await evaluateVagrantfile(['up'], { HARDWAY_SSH_PUBKEY: join(dir, 'key') });
    expect(privateKey.code).not.toBe(0);
    expect(privateKey.stderr).toContain('is not an OpenSSH public key');
    const missing = await evaluateVagrantfile(['up'], { HARDWAY_SSH_PUBKEY: join(dir, 'nope.pub') });
    expect(missing.stderr).toContain('does not exist');
    // Commands that do not provision work without a key.
    expect((await evaluateVagrantfile(['status'], { HARDWAY_SSH_PUBKEY: join(dir, 'nope.pub') })).code).toBe(0);
  });

  it('the provisioning script is valid bash (and clean for shellcheck where installed)', async () => {
    const result = await evaluateVagrantfile(['up'], { HARDWAY_SSH_PUBKEY: join(dir, 'key.pub') });
    const script = result.config!.machines[0]!.provisioners[0]!.options.inline!;
    expect(script).toContain('authorized_keys');
    const path = join(dir, 'provision.sh');
    await writeFile(path, script);
    expect((await run('bash', ['-n', path])).code).toBe(0);
    if (await installed('shellcheck')) {
      const checked = await run('shellcheck', ['-s', 'bash', path]);
      expect(checked.stdout).toBe('');
      expect(checked.code).toBe(0);
    }
  });
});
