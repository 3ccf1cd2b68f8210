// The contract between the engine and the task modules (DESIGN §4), in one file: what a run and
// a task give a module (the spec, inventory, state, connections, options; per task the node, its
// transport and its log, passed down instead of module-level state), and what a module gives back:
// check reads facts and decides one typed plan (nothing to do, or a change carrying its plan),
// apply carries out exactly that plan, and describe renders that same plan as the shell a person
// would type, so a transcript shows what ran. "Changed" is derived from check.
import type { z } from 'zod';
import type { FileHashes } from '../artifacts/file-hashes.ts';
import type { Inventory, Node } from '../inventory/node.ts';
import type { Provider } from '../providers/provider.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { Transport, TransportPool } from '../transport/transport.ts';
import type { StateStore } from '../engine/state.ts';
import type { DescribedLine } from './described.ts';

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

export interface CheckChange<Plan = unknown> {
  changed: true;
  /** What will change, e.g. "content differs" or "missing". */
  reason: string;
  /** A unified diff or state change for `plan --diff`. */
  diff?: string;
  /** Applying only observes (a wait, a health probe): the result counts as ok, not changed. */
  probe?: boolean;
  /**
   * What check decided from the facts it read: apply carries out exactly this, and describe renders
   * it. Absent only for a module without a plan (its apply and describe need nothing but the args)
   * and for a fresh node's plan made without facts (fresh()).
   */
  plan?: Plan;
}

export type CheckResult<Plan = unknown> = CheckOk | CheckChange<Plan>;

export interface ApplyResult {
  changed: boolean;
  reason: string;
}

export interface TaskModule<Args = unknown, Plan = unknown> {
  /** The key a playbook task uses, e.g. `copy`. */
  readonly name: string;
  /** local modules run on the workstation (pki, infra); remote ones over the node's transport. */
  readonly where: 'local' | 'remote';
  /** One line for `explain` and `--help`. */
  readonly summary: string;
  /** Validates the task's arguments at load time (with placeholders) and run time (resolved). */
  readonly args: z.ZodType<Args>;
  check(ctx: TaskContext, args: Args): Promise<CheckResult<Plan>>;
  /**
   * The read-only commands check will run on the node (file facts, unit state), read ahead for a
   * whole phase in one round trip (engine/read-ahead.ts); check gets them through readFact().
   */
  reads?(ctx: TaskContext, args: Args): Promise<Read[]>;
  /** Called only when check said changed, with its plan; returns the final outcome (default: changed, check's reason). */
  apply(ctx: TaskContext, args: Args, change: CheckChange<Plan>): Promise<ApplyResult | void>;
  /**
   * The plan on a fresh node, without connecting (a dry run of machines not made yet, see
   * new-machines.ts); default: a change doing everything describe() lists.
   */
  fresh?(ctx: TaskContext, args: Args): CheckResult<Plan>;
  /**
   * The shell commands of a plan, for transcripts and `explain` (structured lines: described.ts):
   * with check's plan, what this run does on this node; without one (explain, a node not read),
   * what a fresh node gets. Secrets by path, never inline.
   */
  describe(ctx: DescribeContext, args: Args, plan?: Plan): DescribedLine[];
}

/** Why: keeps each module's argument type inferred from its schema, and its plan type from check. */
export function defineModule<Schema extends z.ZodType, Plan = undefined>(module: Omit<TaskModule<z.output<Schema>, Plan>, 'args'> & { args: Schema }): TaskModule<z.output<Schema>, Plan> {
  return module as TaskModule<z.output<Schema>, Plan>;
}

/** Why: playbooks name modules; the registry is the one place that maps names to code. */
export class ModuleRegistry {
  readonly #modules = new Map<string, TaskModule<any, any>>();

  constructor(modules: readonly TaskModule<any, any>[] = []) {
    for (const module of modules) this.register(module);
  }

  register(module: TaskModule<any, any>): this {
    if (this.#modules.has(module.name)) throw new Error(`task module ${module.name} registered twice`);
    this.#modules.set(module.name, module);
    return this;
  }

  get(name: string): TaskModule<any, any> | undefined {
    return this.#modules.get(name);
  }

  has(name: string): boolean {
    return this.#modules.has(name);
  }

  names(): string[] {
    return [...this.#modules.keys()].sort();
  }
}

export interface RunOptions {
  dryRun: boolean;
  verbose: boolean;
  /** How many nodes of a step run at once. */
  concurrency: number;
  /** Take binaries from this directory (with SHA256SUMS) instead of downloading. */
  artifactsDir?: string;
  /** Node names given with --nodes; undefined means all. */
  nodeFilter?: string[];
}

/** One task's shell equivalent; `once` and `handler` tell the transcript where it goes in the step. */
export interface TranscriptEntry {
  step: string;
  task: string;
  node: string | undefined;
  commands: DescribedLine[];
  /** A `once` task: a barrier after every node's tasks before it. */
  once?: boolean;
  /** Set for a handler's tasks: they run after the step's tasks. */
  handler?: string;
}

/** Receives the shell equivalent of what a run does, for --transcript. */
export interface TranscriptSink {
  add(entry: TranscriptEntry): void;
}

export interface RunContext {
  /** The directory holding cluster.yaml, pki/, kubeconfigs/, .hardway/. */
  readonly clusterDir: string;
  readonly specFile: string;
  readonly spec: ClusterSpec;
  /** Replaced by the infra step once the provider knows addresses and the NLB name. */
  inventory: Inventory;
  readonly state: StateStore;
  readonly options: RunOptions;
  readonly transports: TransportPool;
  readonly modules: ModuleRegistry;
  /** The cluster's provider, created on first use (it may check prerequisites). */
  provider(): Promise<Provider>;
  /** Where units/ and playbooks/ are read from (the package root). */
  readonly projectRoot: string;
  readonly transcript?: TranscriptSink;
  readonly signal: AbortSignal;
  /** sha256 of workstation files, each file version read once (artifacts/file-hashes.ts). */
  readonly hashes?: FileHashes;
}

/** Per node, per run: what earlier tasks did that later ones must know (services started fresh). */
export interface NodeScratch {
  /** Services this run started from stopped: a restart handler for them has nothing to do. */
  startedServices: Set<string>;
  /** Units written this run: the service module runs daemon-reload once before using them. */
  changedUnits: Set<string>;
  /** Answers of the read-only commands this node's checks run, read ahead (read-ahead.ts). */
  readAhead?: Map<string, string>;
  /** Something was applied on this node this run: read ahead only for the phase at hand (read-ahead.ts). */
  appliedThisRun?: boolean;
  [key: string]: unknown;
}

/** What describe() may use: no connection and no change anywhere (reading a template is fine). */
export interface DescribeContext {
  readonly run: RunContext;
  readonly node: Node | undefined;
  readonly vars: Record<string, unknown>;
}

export interface TaskContext extends DescribeContext {
  readonly step: string;
  readonly task: string;
  /** The node's transport (remote modules only); connects on first use. */
  connect(): Promise<Transport>;
  /** A line for the task's live output and the verbose log. Never pass secrets. */
  log(line: string): void;
  readonly signal: AbortSignal;
  readonly scratch: NodeScratch;
}
