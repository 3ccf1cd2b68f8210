// The contract of a task module (DESIGN §4): check reads facts and says what would change,
// apply makes it so, describe prints the shell a person would type. "Changed" is derived from check.
import type { z } from 'zod';
import type { TaskContext, DescribeContext } from '../engine/context.ts';

/**
 * A file whose facts a check reads with fileFactsCommand(path, { hashIfSize }): read ahead (engine/read-ahead.ts) with
 * every other such file of the phase by one `stat` and one `sha256sum` instead of a few processes
 * each, and answered as that command would have answered.
 */
export interface FileRead {
  path: string;
  hashIfSize?: number;
}

/** What a module's reads() lists: a read-only command, or a file whose facts it reads. */
export type Read = string | FileRead;

export interface CheckOk {
  changed: false;
  /** Why nothing is to be done, e.g. "sha256 matches" or "using existing". */
  reason: string;
}

export interface CheckChange {
  changed: true;
  /** What will change, e.g. "content differs" or "missing". */
  reason: string;
  /** A unified diff or state change for `plan --diff`. */
  diff?: string;
  /** Applying only observes (a wait, a health probe): the result counts as ok, not changed. */
  probe?: boolean;
  /** Whatever check found that apply can reuse. */
  data?: unknown;
}

export type CheckResult = CheckOk | CheckChange;

export interface ApplyResult {
  changed: boolean;
  reason: string;
}

export interface TaskModule<Args = unknown> {
  /** The key a playbook task uses, e.g. `copy`. */
  readonly name: string;
  /** local modules run on the workstation (pki, infra); remote ones over the node's transport. */
  readonly where: 'local' | 'remote';
  /** One line for `explain` and `--help`. */
  readonly summary: string;
  /** Validates the task's arguments at load time (with placeholders) and run time (resolved). */
  readonly args: z.ZodType<Args>;
  check(ctx: TaskContext, args: Args): Promise<CheckResult>;
  /**
   * The read-only commands check will run on the node (file facts, unit state), read ahead for a
   * whole phase in one round trip (engine/read-ahead.ts); check gets them through readFact().
   */
  reads?(ctx: TaskContext, args: Args): Promise<Read[]>;
  /** Called only when check said changed; returns the final outcome (default: changed, check's reason). */
  apply(ctx: TaskContext, args: Args, check: CheckChange): Promise<ApplyResult | void>;
  /**
   * The plan on a fresh node, without connecting (a dry run of machines not made yet, see
   * new-machines.ts); default: a change doing everything describe() lists.
   */
  fresh?(ctx: TaskContext, args: Args): CheckResult;
  /** The equivalent shell commands, for transcripts and `explain` (where each runs: describe-lines.ts). Secrets by path, never inline. */
  describe(ctx: DescribeContext, args: Args): string[];
}

/** Why: keeps each module's argument type inferred from its schema. */
export function defineModule<Schema extends z.ZodType>(module: Omit<TaskModule<z.output<Schema>>, 'args'> & { args: Schema }): TaskModule<z.output<Schema>> {
  return module as TaskModule<z.output<Schema>>;
}

/** Why: playbooks name modules; the registry is the one place that maps names to code. */
export class ModuleRegistry {
  readonly #modules = new Map<string, TaskModule<any>>();

  constructor(modules: readonly TaskModule<any>[] = []) {
    for (const module of modules) this.register(module);
  }

  register(module: TaskModule<any>): this {
    if (this.#modules.has(module.name)) throw new Error(`task module ${module.name} registered twice`);
    this.#modules.set(module.name, module);
    return this;
  }

  get(name: string): TaskModule<any> | undefined {
    return this.#modules.get(name);
  }

  has(name: string): boolean {
    return this.#modules.has(name);
  }

  names(): string[] {
    return [...this.#modules.keys()].sort();
  }
}
