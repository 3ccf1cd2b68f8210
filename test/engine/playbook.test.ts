import { describe, expect, it } from 'vitest';
import { SpecProblems } from '../../src/spec/load.ts';
import { newWorld, testModules } from '../helpers/modules.ts';
import { playbook } from './playbooks.ts';

const modules = testModules(newWorld());

function problems(text: string): string[] {
  try {
    playbook(modules, text, 'pb.yaml');
  } catch (error) {
    if (error instanceof SpecProblems) return error.problems.map((problem) => `${problem.line} ${problem.field}: ${problem.message}`);
    throw error;
  }
  return [];
}

describe('parsePlaybook', () => {
  it('parses tasks, notify, once and handlers', () => {
    const book = playbook(modules, `step: s\ntitle: S\nhosts: role:etcd\ntasks:\n  - name: a\n    set: { key: k, value: v }\n    notify: h\n  - name: b\n    probe: { what: x }\n    once: true\nhandlers:\n  - name: h\n    serial: true\n    tasks:\n      - name: r\n        restart: { service: x }\n`);
    expect(book.hosts).toEqual({ kind: 'role', role: 'etcd' });
    expect(book.tasks.map((task) => [task.name, task.module, task.notify, task.once, task.line])).toEqual([
      ['a', 'set', ['h'], false, 5],
      ['b', 'probe', [], true, 8],
    ]);
    expect(book.handlers[0]).toMatchObject({ name: 'h', serial: true });
  });

  it('names the line of an unknown module', () => {
    expect(problems(`step: s\ntitle: S\nhosts: all\ntasks:\n  - name: a\n    cpy: { src: x }\n`)).toEqual([
      expect.stringMatching(/^6 tasks\[0\]\.cpy: unknown module "cpy"; known modules: fail, note, probe, restart, set$/),
    ]);
  });

  it('rejects bad arguments, unknown handlers, misplaced local modules and unknown variables', () => {
    const found = problems(
      `step: s\ntitle: S\nhosts: all\ntasks:\n  - name: a\n    set: { key: k }\n  - name: b\n    set: { key: k, value: v }\n    notify: nope\n  - name: c\n    note: { key: k }\n  - name: d\n    set: { key: k, value: "\${nod.name}" }\n`,
    );
    expect(found).toEqual([
      expect.stringMatching(/^6 tasks\[0\]\.set\.value: is required/),
      expect.stringMatching(/^9 tasks\[1\]\.notify: notifies "nope"/),
      expect.stringMatching(/^13 tasks\[3\]\.set: \$\{nod\.name\} is not a known variable/),
    ]);
  });

  it('runs a workstation module of a step on nodes once, on the workstation; it neither notifies nor serves as a handler task', () => {
    const book = playbook(modules, `step: s\ntitle: S\nhosts: role:lb\ntasks:\n  - name: a\n    set: { key: k, value: v }\n  - name: b\n    note: { key: k }\n`);
    expect(book.tasks.map((task) => [task.name, task.once, task.local ?? false])).toEqual([
      ['a', false, false],
      ['b', true, true],
    ]);
    expect(problems(`step: s\ntitle: S\nhosts: all\ntasks:\n  - name: b\n    note: { key: k }\n    notify: h\nhandlers:\n  - name: h\n    tasks:\n      - name: r\n        note: { key: k }\n`)).toEqual([
      expect.stringMatching(/^7 tasks\[0\]\.notify: module note runs on the workstation, where no handler runs/),
      expect.stringMatching(/^12 handlers\[0\]\.tasks\[0\]\.note: module note runs on the workstation; a handler's tasks run on the nodes that notified it/),
    ]);
  });

  it('rejects a task with two modules, unknown keys and a bad hosts value', () => {
    expect(problems(`step: s\ntitle: S\nhosts: role:gpu\ntasks:\n  - name: a\n    set: { key: k, value: v }\n    probe: { what: x }\n`)).toEqual([
      expect.stringMatching(/^3 hosts: unknown role in role:gpu/),
      expect.stringMatching(/^5 tasks\[0\]: has several module keys \(set, probe\)/),
    ]);
    expect(problems(`step: s\ntitle: S\nhost: all\ntasks: []\n`)).toEqual([
      expect.stringMatching(/^1 hosts: is required/),
      expect.stringMatching(/^3 host: unknown key/),
      expect.stringMatching(/^4 tasks: /),
    ]);
  });
});

describe('the shipped playbooks', () => {
  it('never make two tasks own one path with different modes or owners (a re-run would flip it back and forth)', async () => {
    const { loadStepGraph } = await import('../../src/cli/steps.ts');
    const steps = await loadStepGraph();
    const owners = new Map<string, { where: string; attributes: string }>();
    const clashes: string[] = [];
    for (const playbook of steps.ordered) {
      for (const task of [...playbook.tasks, ...playbook.handlers.flatMap((handler) => handler.tasks)]) {
        const args = task.args as { path?: string; dest?: string; mode?: string; owner?: string; group?: string };
        const path = task.module === 'directory' ? args.path : args.dest;
        if (!path || !['directory', 'copy', 'template'].includes(task.module)) continue;
        const attributes = `${task.module === 'directory' ? 'directory' : 'file'} mode ${args.mode ?? 'default'} owner ${args.owner ?? 'default'}:${args.group ?? 'default'}`;
        const where = `${playbook.step}: ${task.name}`;
        const earlier = owners.get(path);
        if (earlier && earlier.attributes !== attributes) clashes.push(`${path}: ${earlier.where} (${earlier.attributes}) vs ${where} (${attributes})`);
        if (!earlier) owners.set(path, { where, attributes });
      }
    }
    expect(clashes).toEqual([]);
  });
});

describe('loadPlaybooks with a cache', () => {
  it('reads back what it checked, and checks anew when a text or the code key changes; a failing playbook is never kept', async () => {
    const { mkdtemp, readdir, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadPlaybooks } = await import('../../src/engine/playbook.ts');
    const root = await mkdtemp(join(tmpdir(), 'hardway-playbook-cache-'));
    try {
      const dir = join(root, 'playbooks');
      const cache = { dir: join(root, 'cache'), codeKey: 'code 1' };
      const { mkdir } = await import('node:fs/promises');
      await mkdir(dir);
      await writeFile(join(dir, '10-a.yaml'), `step: a\ntitle: A\nhosts: all\ntasks:\n  - name: one\n    set: { key: k, value: v }\n`);
      const first = await loadPlaybooks(dir, modules, cache);
      expect(await readdir(cache.dir)).toHaveLength(1);
      expect(await loadPlaybooks(dir, modules, cache)).toEqual(first);
      // A cached entry is what is read back (it is not parsed again): shown by changing the entry.
      const [entry] = await readdir(cache.dir);
      await writeFile(join(cache.dir, entry!), JSON.stringify([{ ...first[0], title: 'from the cache' }]));
      expect((await loadPlaybooks(dir, modules, cache))[0]?.title).toBe('from the cache');
      expect((await loadPlaybooks(dir, modules, { ...cache, codeKey: 'code 2' }))[0]?.title).toBe('A');
      await writeFile(join(dir, '10-a.yaml'), `step: a\ntitle: A\nhosts: all\ntasks:\n  - name: one\n    cpy: { src: x }\n`);
      await expect(loadPlaybooks(dir, modules, cache)).rejects.toThrow(SpecProblems);
      await expect(loadPlaybooks(dir, modules, cache)).rejects.toThrow(SpecProblems);
      expect(await readdir(cache.dir)).toHaveLength(2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
