// `binaries: { role, files, dir }`: put release binaries (etcd, kube-*, kubelet, containerd, runc,
// CNI plugins) in `dir` (default /usr/local/bin) on the nodes of one role, each under its install
// name (`cni-bridge` becomes `bridge`). The files come verified from the artifact cache (downloaded
// once, checked against upstream's published sha256) or from --artifacts-dir; a node whose copies
// already have the same sha256 and mode is left alone. Nodes without the role report "nothing to install".
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { z } from 'zod';
import { ARTIFACT_NAMES, artifactSource, installName, normalizeArch, releaseOf, RELEASE_TITLES, type Arch, type ArtifactName, type ArtifactSource, type Release, type Versions } from '../artifacts/catalog.ts';
import { artifactsLocation, resolveArtifacts } from '../artifacts/resolve.ts';
import type { ResolvedArtifact } from '../artifacts/resolved.ts';
import { TaskError } from '../errors.ts';
import type { Node, Role } from '../inventory/node.ts';
import { planUpload, type WantedFile } from '../transport/remote-file.ts';
import { shellQuote } from '../transport/shell.ts';
import type { KnownFile } from '../engine/state.ts';
import { type DescribeContext, type TaskContext, defineModule, type CheckResult } from './module.ts';
import { fileLines, onWorkstation, type DescribedLine } from './described.ts';
import { manyFileFactsCommand, readManyFileFacts, requireNode } from './remote-support.ts';

export const binariesArgs = z.strictObject({
  /** Only nodes with this role get the files. */
  role: z.enum(['etcd', 'controller', 'lb', 'worker'] as const satisfies readonly Role[]),
  files: z.array(z.enum(ARTIFACT_NAMES)).min(1),
  /** Where the binaries go on the node. */
  dir: z.string().regex(/^\/./, { message: 'must be an absolute path on the node' }).default('/usr/local/bin'),
});
export type BinariesArgs = z.output<typeof binariesArgs>;

const WANTED: WantedFile = { mode: '0755', owner: 'root', group: 'root' };

/** One file the node lacks or has wrong: sent whole, or only its mode and owner fixed. */
export interface PlannedUpload {
  artifact: ResolvedArtifact;
  dest: string;
  reason: string;
  action: 'transfer' | 'metadata';
}

export const binariesModule = defineModule({
  name: 'binaries',
  where: 'remote',
  summary: 'Install release binaries (sha256-verified, from the artifact cache or --artifacts-dir) on the nodes of a role',
  args: binariesArgs,
  async reads(ctx, args) {
    const node = requireNode(ctx);
    if (!node.roles.includes(args.role)) return [];
    const arch = recordedArch(ctx, node);
    return arch ? [manyFileFactsCommand(factsRequests(await wantedFiles(ctx, node, args, arch)))] : [];
  },
  async check(ctx, args): Promise<CheckResult<PlannedUpload[]>> {
    const node = requireNode(ctx);
    if (!node.roles.includes(args.role)) return { changed: false, reason: `not a${args.role === 'etcd' ? 'n' : ''} ${args.role} node: nothing to install` };
    const where = { node: node.name, step: ctx.step, task: ctx.task };
    const arch = recordedArch(ctx, node) ?? (await askedArch(ctx, node));
    const wanted = await wantedFiles(ctx, node, args, arch);
    // All files in one round trip; a file still bearing the stamp it had when it last matched is not read again.
    const facts = await readManyFileFacts(ctx, factsRequests(wanted));
    const uploads: PlannedUpload[] = [];
    const unchanged: ArtifactName[] = [];
    const verified: Record<string, KnownFile> = {};
    for (const [index, { artifact, dest, size, known }] of wanted.entries()) {
      const found = facts[index]!;
      const trusted = known && found.stamp === known.stamp && found.size === size && !found.sha256;
      if (trusted) found.sha256 = known.sha256;
      else if (found.sha256 === artifact.sha256 && found.stamp) verified[dest] = { stamp: found.stamp, sha256: artifact.sha256 };
      let plan;
      try {
        plan = planUpload(dest, found, { size, sha256: artifact.sha256 }, WANTED);
      } catch (error) {
        throw new TaskError((error as Error).message, where);
      }
      if (plan.action === 'skip') unchanged.push(artifact.name);
      else uploads.push({ artifact, dest, reason: plan.reason, action: plan.action });
    }
    if (!ctx.run.options.dryRun) await ctx.run.state.rememberFiles(node.name, verified);
    return decideBinaries(uploads, unchanged, ctx.run.spec.versions);
  },
  async apply(ctx, _args, change) {
    const transport = await ctx.connect();
    const uploads = change.plan ?? [];
    const installed: string[] = [];
    const written: Record<string, KnownFile> = {};
    for (const { artifact, dest, action, reason } of uploads) {
      const onProgress = uploadProgress(ctx.log, `${artifact.name} -> ${dest}`);
      const result = await transport.upload({ path: artifact.path }, dest, { ...WANTED, signal: ctx.signal, onProgress, planned: { action, reason }, stamp: true });
      if (result.changed) installed.push(artifact.name);
      if (result.stamp) written[dest] = { stamp: result.stamp, sha256: artifact.sha256 };
    }
    await ctx.run.state.rememberFiles(requireNode(ctx).name, written);
    return installed.length
      ? { changed: true, reason: `installed ${installed.join(', ')}` }
      : { changed: false, reason: 'already installed (sha256 matches)' };
  },
  describe(ctx, args, plan) {
    if (ctx.node && !ctx.node.roles.includes(args.role)) return [];
    return describeBinaries(ctx, args, plan);
  },
});

const PROGRESS_EVERY_MS = 2_000;

/**
 * Why: a 110 MB kube-apiserver takes seconds per node; the task line says how far it got (every
 * 2 s: in a terminal the line moves, without one it is a line every 2 s, never one per chunk;
 * a file sent faster than that prints nothing).
 */
export function uploadProgress(log: (line: string) => void, what: string, now: () => number = () => performance.now()): (sent: number, total: number) => void {
  let last = now();
  let logged = false;
  return (sent, total) => {
    const time = now();
    // A file sent within 2 s gets no progress line at all; a long one ends with its 100% line.
    if (time - last < PROGRESS_EVERY_MS && !(sent >= total && logged)) return;
    last = time;
    logged = true;
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    log(`uploading ${what}: ${mib(sent)} of ${mib(total)} MiB (${Math.floor((sent / Math.max(total, 1)) * 100)}%)`);
  };
}

/** Why: the pure decision, testable without a node: what to upload and how to say it. */
export function decideBinaries(uploads: PlannedUpload[], unchanged: ArtifactName[], versions: Versions): CheckResult<PlannedUpload[]> {
  if (!uploads.length) return { changed: false, reason: `sha256 matches: ${unchanged.join(', ')} (${versionNote(unchanged, versions)})` };
  return {
    changed: true,
    reason: uploads.map((upload) => `${upload.artifact.name}: ${upload.reason}`).join('; '),
    diff: uploads.map((upload) => `${upload.dest}: ${upload.reason} -> sha256 ${upload.artifact.sha256} (${upload.artifact.origin})`).join('\n'),
    plan: uploads,
  };
}

function versionNote(names: readonly ArtifactName[], versions: Versions): string {
  const releases = new Set<Release>(names.map(releaseOf));
  return [...releases].map((release) => `${RELEASE_TITLES[release]} v${versions[release]}`).join(', ');
}

interface WantedBinary {
  artifact: ResolvedArtifact;
  dest: string;
  size: number;
  /** What hardway last knew of the node's copy, when that was this artifact. */
  known: KnownFile | undefined;
}

/** The files of the task, each with what is known of the node's copy from an earlier run. */
async function wantedFiles(ctx: TaskContext, node: Node, args: BinariesArgs, arch: Arch): Promise<WantedBinary[]> {
  const artifacts = await resolveArtifacts(ctx.run, args.files, { arch, signal: ctx.signal, log: ctx.log });
  return Promise.all(
    artifacts.map(async (artifact) => {
      const dest = posix.join(args.dir, installName(artifact.name));
      const known = ctx.run.state.knownFile(node.name, dest);
      return { artifact, dest, size: (await stat(artifact.path)).size, known: known?.sha256 === artifact.sha256 ? known : undefined };
    }),
  );
}

function factsRequests(wanted: readonly WantedBinary[]) {
  return wanted.map(({ dest, size, known }) => ({ path: dest, hashIfSize: size, ...(known ? { hashUnlessStamp: known.stamp } : { stamp: true }) }));
}

/** The node's release architecture as the hosts step's facts recorded it. */
function recordedArch(ctx: TaskContext, node: Node): Arch | undefined {
  const recorded = ctx.run.state.data.facts[node.name];
  return normalizeArch(recorded?.goArch ?? recorded?.arch ?? '');
}

/** Why: a node whose facts were never read (a step run alone) is asked with uname -m. */
async function askedArch(ctx: TaskContext, node: Node): Promise<Arch> {
  const transport = await ctx.connect();
  const machine = (await transport.exec('uname -m', { signal: ctx.signal })).stdout.trim();
  const arch = normalizeArch(machine);
  if (!arch) {
    throw new TaskError(`architecture ${machine || 'unknown'} is not supported: hardway installs the amd64 and arm64 release binaries`, { node: node.name, step: ctx.step, task: ctx.task });
  }
  return arch;
}

/**
 * The commands a person would type: fetch and verify (or check the directory), then copy; with
 * check's plan, only the files this node lacks (a wrong mode alone is a chmod).
 */
function describeBinaries(ctx: DescribeContext, args: BinariesArgs, plan: readonly PlannedUpload[] | undefined): DescribedLine[] {
  const actions = new Map<ArtifactName, PlannedUpload['action']>(plan ? plan.map((upload) => [upload.artifact.name, upload.action]) : args.files.map((name) => [name, 'transfer']));
  const files = args.files.filter((name) => actions.has(name));
  const fetched = files.filter((name) => actions.get(name) === 'transfer');
  const recorded = ctx.node ? ctx.run.state.data.facts[ctx.node.name] : undefined;
  const arch: Arch = normalizeArch(recorded?.goArch ?? recorded?.arch ?? '') ?? 'amd64';
  const location = artifactsLocation(ctx.run);
  const lines: DescribedLine[] = [];
  const local = new Map<ArtifactName, string>();
  if (location.kind === 'directory') {
    if (fetched.length) lines.push(onWorkstation(`(cd ${shellQuote(location.dir)} && sha256sum --check --ignore-missing SHA256SUMS)`));
    for (const name of files) local.set(name, posix.join(location.dir, name));
  } else {
    const urls = new Set<string>();
    for (const name of fetched) {
      const source = artifactSource(name, ctx.run.spec.versions, arch, location.urls);
      local.set(name, localName(source));
      if (urls.has(source.url)) continue;
      urls.add(source.url);
      lines.push(...fetchCommands(source, fetched).map((command) => onWorkstation(command)));
    }
  }
  for (const name of files) lines.push(...fileLines(local.get(name) ?? name, posix.join(args.dir, installName(name)), WANTED, actions.get(name)));
  return lines;
}

/** Download, verify and (for an archive) unpack the files of `files` that `source.url` holds. */
function fetchCommands(source: ArtifactSource, files: readonly ArtifactName[]): string[] {
  if (source.checksum.format === 'digest') {
    // dl.k8s.io's .sha256 holds the digest alone: sha256sum needs the file name added.
    return [`curl -fsSLo ${source.name} ${source.url}`, `echo "$(curl -fsSL ${source.checksumUrl})  ${source.name}" | sha256sum --check`];
  }
  const commands = [`curl -fsSLO ${source.url}`, `curl -fsSL ${source.checksumUrl} | grep ' ${source.checksum.listedAs}$' | sha256sum --check`];
  if (source.kind === 'archive') {
    const members = source.members.filter((member) => files.includes(member.name)).map((member) => member.member);
    commands.push(`tar -xzf ${source.archive} --strip-components=${stripDepth(source.member)} ${members.join(' ')}`);
  }
  return commands;
}

/** The file on the workstation after fetchCommands: what `curl -o`/`-O` or `tar --strip-components` wrote. */
function localName(source: ArtifactSource): string {
  if (source.kind === 'archive') return posix.basename(source.member);
  return source.checksum.format === 'digest' ? source.name : posix.basename(source.url);
}

function stripDepth(member: string): number {
  return member.split('/').length - 1;
}
