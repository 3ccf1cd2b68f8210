// Loads playbooks/*.yaml (one step per file) into validated data: module names known, arguments
// valid, handlers defined, local steps using local modules. Errors name the file and line.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { SpecError } from '../errors.ts';
import { ROLES, type Role } from '../inventory/node.ts';
import type { ModuleRegistry } from '../modules/module.ts';
import { fieldPath, parseYaml, problemsFromIssues, SpecProblems, validateWith, type LocatedYaml, type Problem } from '../spec/load.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { placeholders } from './vars.ts';
import { whenSchema, type TaskCondition } from './when.ts';

export type HostSelector = { kind: 'local' } | { kind: 'all' } | { kind: 'role'; role: Role };

export interface PlaybookTask {
  name: string;
  module: string;
  /** Raw arguments; `${...}` placeholders are resolved per node at run time. */
  args: unknown;
  notify: string[];
  once: boolean;
  /**
   * A workstation module's task in a step on nodes: it runs once, on the workstation, after every
   * node's tasks before it (a barrier like `once`), also when the step has no node (an NLB's
   * targets with no lb node).
   */
  local?: boolean;
  /** Runs only where this holds (when.ts). */
  when?: TaskCondition;
  file: string;
  line: number | undefined;
}

export interface Handler {
  name: string;
  /** Run on one node at a time (etcd members restart one by one). */
  serial: boolean;
  tasks: PlaybookTask[];
}

export interface Playbook {
  step: string;
  title: string;
  summary: string;
  /** The Kubernetes-the-hard-way chapter this step automates. */
  chapter: string | undefined;
  needs: string[];
  hosts: HostSelector;
  /** The step runs only when the cluster has a node of this role (the pod routes: only with workers). */
  when?: { exists: Role };
  tasks: PlaybookTask[];
  handlers: Handler[];
  file: string;
}

const STEP_NAME = /^[a-z][a-z0-9-]*$/;
const TASK_KEYS = new Set(['name', 'notify', 'once', 'when']);
const VARIABLE_ROOTS = new Set(['node', 'spec', 'cluster', 'inventory', 'controllers', 'etcd', 'lb', 'etcdInitialCluster', 'etcdServers', 'kubernetesServiceIP', 'apiEndpoint', 'etcdInitialClusterState', 'clusterDir', 'workers', 'runtime', 'clusterDNS']);

const rawTask = z.looseObject({
  name: z.string().min(1),
  notify: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  once: z.boolean().optional(),
  when: whenSchema.optional(),
});

const rawPlaybook = z.strictObject({
  step: z.string().regex(STEP_NAME, { message: 'must be lowercase letters, digits and "-"' }),
  title: z.string().min(1),
  summary: z.string().default(''),
  chapter: z.string().optional(),
  needs: z.array(z.string()).default([]),
  hosts: z.string().regex(/^(local|all|role:[a-z]+)$/, { message: 'must be local, all or role:<controller|etcd|lb|worker>' }),
  when: z.strictObject({ exists: z.enum(ROLES) }).optional(),
  tasks: z.array(rawTask).min(1),
  handlers: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        serial: z.boolean().default(false),
        tasks: z.array(rawTask).min(1),
      }),
    )
    .default([]),
});

function parseHosts(text: string): HostSelector | undefined {
  if (text === 'local') return { kind: 'local' };
  if (text === 'all') return { kind: 'all' };
  const role = text.slice('role:'.length) as Role;
  return ROLES.includes(role) ? { kind: 'role', role } : undefined;
}

/** A handler named by `notify`: `restart etcd` (this step's) or `etcd: restart etcd` (another step's). */
export interface HandlerRef {
  step: string;
  handler: string;
}

/**
 * Why: a task in one step may owe a restart to a service another step manages (a new etcd
 * binary owes `etcd: restart etcd`); the restart then runs with that step's handlers, in order.
 */
export function handlerRef(step: string, name: string): HandlerRef {
  const match = /^([a-z][a-z0-9-]*): (.+)$/.exec(name);
  return match ? { step: match[1]!, handler: match[2]! } : { step, handler: name };
}

/** Why: a playbook is checked whole when loaded, so a typo fails before any node is touched. */
export function parsePlaybook(text: string, file: string, modules: ModuleRegistry): Playbook {
  const located = parseYaml(text, file);
  const raw = validateWith(rawPlaybook, located);
  const problems: Problem[] = [];
  const report = (path: (string | number)[], message: string) => problems.push({ file, line: located.lineOf(path), field: fieldPath(path), message });

  const hosts = parseHosts(raw.hosts);
  if (!hosts) report(['hosts'], `unknown role in ${raw.hosts}; roles are ${ROLES.join(', ')}`);
  const local = hosts?.kind === 'local';

  const handlerNames = new Set<string>();
  for (const [index, handler] of raw.handlers.entries()) {
    if (handlerNames.has(handler.name)) report(['handlers', index, 'name'], `handler "${handler.name}" is defined twice`);
    handlerNames.add(handler.name);
  }

  const toTask = (rawTaskValue: z.output<typeof rawTask>, path: (string | number)[], inHandler: boolean): PlaybookTask | undefined => {
    const moduleKeys = Object.keys(rawTaskValue).filter((key) => !TASK_KEYS.has(key));
    if (moduleKeys.length !== 1) {
      report(path, moduleKeys.length ? `has several module keys (${moduleKeys.join(', ')}); a task uses exactly one` : `names no module; known modules: ${modules.names().join(', ')}`);
      return undefined;
    }
    const moduleName = moduleKeys[0]!;
    const module = modules.get(moduleName);
    if (!module) {
      report([...path, moduleName], `unknown module "${moduleName}"; known modules: ${modules.names().join(', ')}`);
      return undefined;
    }
    if (local && module.where === 'remote') report([...path, moduleName], `module ${moduleName} runs on nodes, but this step has hosts: local`);
    const onWorkstation = !local && module.where === 'local';
    if (onWorkstation && inHandler) report([...path, moduleName], `module ${moduleName} runs on the workstation; a handler's tasks run on the nodes that notified it`);
    const args = rawTaskValue[moduleName] ?? {};
    for (const variable of placeholders(args)) {
      const root = variable.split('.')[0] ?? '';
      if (!VARIABLE_ROOTS.has(root)) report([...path, moduleName], `\${${variable}} is not a known variable; known: ${[...VARIABLE_ROOTS].join(', ')}`);
    }
    if (placeholders(args).length === 0) {
      const result = module.args.safeParse(args);
      if (!result.success) problems.push(...problemsFromIssues(located, result.error.issues.map((issue) => ({ ...issue, path: [...path, moduleName, ...issue.path] }))));
    }
    const notify = rawTaskValue.notify === undefined ? [] : [rawTaskValue.notify].flat();
    for (const name of notify) {
      const target = handlerRef(raw.step, name);
      // Another step's handlers are checked once every playbook is loaded (loadPlaybooks).
      if (target.step === raw.step && !handlerNames.has(target.handler)) report([...path, 'notify'], `notifies "${name}", which is not a handler of this playbook`);
    }
    if (inHandler && (rawTaskValue.once || notify.length)) report(path, 'handler tasks cannot use once or notify');
    if (onWorkstation && notify.length) report([...path, 'notify'], `module ${moduleName} runs on the workstation, where no handler runs`);
    return { name: rawTaskValue.name, module: moduleName, args, notify, once: (rawTaskValue.once ?? false) || onWorkstation, ...(onWorkstation ? { local: true } : {}), ...(rawTaskValue.when ? { when: rawTaskValue.when } : {}), file, line: located.lineOf(path) };
  };

  const tasks = raw.tasks.map((task, index) => toTask(task, ['tasks', index], false));
  const handlers = raw.handlers.map((handler, handlerIndex) => ({
    name: handler.name,
    serial: handler.serial,
    tasks: handler.tasks.map((task, index) => toTask(task, ['handlers', handlerIndex, 'tasks', index], true)),
  }));
  if (problems.length) throw new SpecProblems(problems);
  return {
    step: raw.step,
    title: raw.title,
    summary: raw.summary.trim(),
    chapter: raw.chapter,
    needs: raw.needs,
    hosts: hosts!,
    ...(raw.when ? { when: raw.when } : {}),
    tasks: tasks as PlaybookTask[],
    handlers: handlers.map((handler) => ({ ...handler, tasks: handler.tasks as PlaybookTask[] })),
    file,
  };
}

/**
 * Where loaded playbooks are kept between runs: `codeKey` names the code that checked them (the
 * modules' argument schemas), so a change of either text or code checks them anew.
 */
export interface PlaybookCache {
  dir: string;
  codeKey: string;
}

/**
 * Load every `*.yaml` in the directory, in file-name order (the numbering a reader follows). With
 * a cache, playbooks already checked whole, byte for byte, by the same code are read back from
 * JSON instead of parsed and checked again: parsing YAML is most of what a command pays to start
 * (bench/startup.ts). Only playbooks that passed are kept; an unreadable entry is ignored.
 */
export async function loadPlaybooks(directory: string, modules: ModuleRegistry | (() => Promise<ModuleRegistry>), cache?: PlaybookCache): Promise<Playbook[]> {
  let files: string[];
  try {
    files = (await readdir(directory)).filter((name) => name.endsWith('.yaml') || name.endsWith('.yml')).sort();
  } catch (error) {
    throw new SpecError(`cannot read the playbooks directory ${directory}`, { file: directory }, { cause: error });
  }
  const texts = await Promise.all(files.map((name) => readFile(join(directory, name), 'utf8')));
  const cachePath = cache ? join(cache.dir, `playbooks-${createHash('sha256').update(JSON.stringify([PLAYBOOK_FORMAT, cache.codeKey, directory, files, texts])).digest('hex').slice(0, 32)}.json`) : undefined;
  if (cachePath) {
    const cached = await readFile(cachePath, 'utf8').then((text) => JSON.parse(text) as Playbook[], () => undefined);
    if (Array.isArray(cached) && cached.length === files.length) return cached;
  }
  // The modules are needed only to check playbooks afresh (a caller may load them only then).
  const playbooks = checkPlaybooks(directory, files, texts, typeof modules === 'function' ? await modules() : modules);
  if (cachePath) await writeFileAtomic(cachePath, JSON.stringify(playbooks), { mode: 0o600 }).catch(() => undefined);
  return playbooks;
}

/** Bumped when the Playbook shape changes, so no entry of an older shape is read back. */
const PLAYBOOK_FORMAT = 2;

function checkPlaybooks(directory: string, files: readonly string[], texts: readonly string[], modules: ModuleRegistry): Playbook[] {
  const playbooks: Playbook[] = [];
  const problems: Problem[] = [];
  for (const [index, name] of files.entries()) {
    const file = join(directory, name);
    try {
      playbooks.push(parsePlaybook(texts[index]!, file, modules));
    } catch (error) {
      if (error instanceof SpecProblems) problems.push(...error.problems);
      else throw error;
    }
  }
  for (const playbook of playbooks) {
    for (const task of playbook.tasks) {
      for (const name of task.notify) {
        const target = handlerRef(playbook.step, name);
        const owner = playbooks.find((candidate) => candidate.step === target.step);
        if (!owner?.handlers.some((handler) => handler.name === target.handler)) {
          problems.push({ file: playbook.file, line: task.line, field: 'notify', message: `notifies "${name}", but ${owner ? `step ${target.step} has no handler "${target.handler}"` : `there is no step ${target.step}`}` });
        }
      }
    }
  }
  if (problems.length) throw new SpecProblems(problems);
  return playbooks;
}

export type { LocatedYaml };
