// The context passed down a run instead of module-level state: the spec, inventory, state,
// connections and options for the whole run, and per task the node, its transport and its log.
import type { FileHashes } from '../artifacts/file-hashes.ts';
import type { Inventory, Node } from '../inventory/node.ts';
import type { ModuleRegistry } from '../modules/module.ts';
import type { Provider } from '../providers/provider.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { Transport, TransportPool } from '../transport/transport.ts';
import type { StateStore } from './state.ts';

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
  commands: string[];
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
