// .hardway/state.json: what has run where, the inventory the provider produced, facts read from
// nodes. Writes are serialized and atomic, so parallel tasks and a crash never corrupt it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpecError } from '../errors.ts';
import type { ProviderFacts } from '../inventory/derive.ts';
import type { Inventory } from '../inventory/node.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** The key under which local steps record their result. */
export const LOCAL = 'local';

export interface StepNodeRecord {
  status: 'done' | 'failed';
  at: string;
  changed: number;
}

export interface StateData {
  version: 1;
  cluster: string;
  /** Per step, per node (or `local`): the last result. */
  steps: Record<string, Record<string, StepNodeRecord>>;
  /** What only the provider knows, merged into the derived inventory. */
  providerFacts: ProviderFacts;
  /** The inventory as of the last infra step, for people and tools reading this file. */
  inventory?: Inventory;
  /** Provider resource ids and bookkeeping, owned by the provider. */
  provider: Record<string, unknown>;
  /** Facts read from nodes (os, arch, systemd). */
  facts: Record<string, Record<string, string>>;
  /** Work in progress that must be resumable (rebuild). */
  operations: Record<string, unknown>;
  /** The last --artifacts-dir given, used when a later run names none. */
  artifactsDir?: string;
  /**
   * Handlers notified but not yet run to the end, per step, per handler: the nodes that still owe
   * them (a node failed, the run was interrupted). The next run of that step runs them first.
   */
  owedHandlers?: Record<string, Record<string, string[]>>;
  /**
   * Per node, per path: the stamp (remote-file.ts) a file had when its sha256 was last known, so a
   * re-run compares a 100 MB binary by its stamp instead of reading it on the node again.
   */
  fileStamps?: Record<string, Record<string, KnownFile>>;
}

/** A node's file as hardway last knew it: its stamp then, and its content's sha256. */
export interface KnownFile {
  stamp: string;
  sha256: string;
}

export function emptyState(cluster: string): StateData {
  return { version: 1, cluster, steps: {}, providerFacts: {}, provider: {}, facts: {}, operations: {} };
}

export function stateDir(clusterDir: string): string {
  return join(clusterDir, '.hardway');
}

/** Why: one owner of state.json per run; updates queue so concurrent tasks never lose a write. */
export class StateStore {
  readonly path: string;
  #data: StateData;
  #queue: Promise<void> = Promise.resolve();

  private constructor(path: string, data: StateData) {
    this.path = path;
    this.#data = data;
  }

  static async open(clusterDir: string, cluster: string): Promise<StateStore> {
    const path = join(stateDir(clusterDir), 'state.json');
    let data = emptyState(cluster);
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<StateData>;
      data = { ...data, ...parsed, version: 1 };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        throw new SpecError(`${path}: unreadable state (${code ?? (error as Error).message})`, { file: path }, {
          hint: 'Restore it from a backup, or move it aside to start over (provisioned machines are found again by the provider).',
          cause: error,
        });
      }
    }
    return new StateStore(path, data);
  }

  /** An in-memory store for plans and tests that must not touch the disk. */
  static inMemory(cluster: string, data?: Partial<StateData>): StateStore {
    const store = new StateStore('', { ...emptyState(cluster), ...data });
    return store;
  }

  get data(): Readonly<StateData> {
    return this.#data;
  }

  /** Apply a change and persist it; resolves when the write is durable. */
  update(mutate: (draft: StateData) => void, options: { beforeRename?: () => void | Promise<void> } = {}): Promise<void> {
    const next = this.#queue.then(async () => {
      const draft = structuredClone(this.#data);
      mutate(draft);
      if (this.path) await writeFileAtomic(this.path, `${JSON.stringify(draft, null, 2)}\n`, { mode: 0o600, beforeRename: options.beforeRename });
      this.#data = draft;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  stepRecord(step: string, node: string): StepNodeRecord | undefined {
    return this.#data.steps[step]?.[node];
  }

  /** The sha256 a node's file had when it last had this stamp, if hardway knows it. */
  knownFile(node: string, path: string): KnownFile | undefined {
    const known = this.#data.fileStamps?.[node]?.[path];
    return typeof known?.stamp === 'string' && typeof known.sha256 === 'string' ? known : undefined;
  }

  /** Why: recorded after a file's hash was read or its bytes were sent, so the next run need not read it. */
  rememberFiles(node: string, files: Record<string, KnownFile>): Promise<void> {
    const entries = Object.entries(files).filter(([path, known]) => {
      const had = this.knownFile(node, path);
      return had?.stamp !== known.stamp || had.sha256 !== known.sha256;
    });
    if (!entries.length) return this.#queue;
    return this.update((draft) => {
      const stamps = (draft.fileStamps ??= {});
      stamps[node] = { ...stamps[node], ...Object.fromEntries(entries) };
    });
  }

  /** The nodes that owe each handler of a step. */
  owedHandlers(step: string): Record<string, string[]> {
    return this.#data.owedHandlers?.[step] ?? {};
  }

  /** Why: a notified restart is durable before the task that caused it is reported done. */
  owe(step: string, handler: string, node: string): Promise<void> {
    if (this.owedHandlers(step)[handler]?.includes(node)) return this.#queue;
    return this.update((draft) => {
      const steps = (draft.owedHandlers ??= {});
      const handlers = (steps[step] ??= {});
      handlers[handler] = [...new Set([...(handlers[handler] ?? []), node])].sort();
    });
  }

  /** A handler ran to the end on a node: nothing is owed any more. */
  settle(step: string, handler: string, node: string): Promise<void> {
    if (!this.owedHandlers(step)[handler]?.includes(node)) return this.#queue;
    return this.update((draft) => {
      const handlers = draft.owedHandlers?.[step];
      if (!handlers?.[handler]) return;
      handlers[handler] = handlers[handler].filter((name) => name !== node);
      if (!handlers[handler].length) delete handlers[handler];
      if (!Object.keys(handlers).length) delete draft.owedHandlers![step];
    });
  }

  recordStep(step: string, results: Record<string, StepNodeRecord>): Promise<void> {
    return this.update((draft) => {
      draft.steps[step] = { ...draft.steps[step], ...results };
    });
  }
}
