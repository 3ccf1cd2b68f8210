// `etc-hosts: {}`: every node of the cluster by name in /etc/hosts, inside a block hardway owns
// (`# BEGIN hardway cluster NAME` ... `# END ...`); lines outside the block are never touched.
import { posix } from 'node:path';
import { z } from 'zod';
import { ipv4 } from '../spec/schema.ts';
import { shellQuote } from '../transport/shell.ts';
import type { CheckResult, DescribeContext } from './module.ts';
import { defineModule } from './module.ts';
import { readFact, requireNode } from './remote-support.ts';
import { heredoc, withInput, type DescribedCommand } from './described.ts';
import { unifiedDiff } from './text-diff.ts';

/** Playbook arguments: `etc-hosts: {}` (defaults cover the cluster). */
export const etcHostsArgs = z.strictObject({
  /** Tests point this at a temp file; nodes use /etc/hosts. */
  path: z.string().regex(/^\/./, { message: 'must be an absolute path' }).default('/etc/hosts'),
  /** Default: every node of the inventory, `internalIP name`. */
  entries: z.array(z.strictObject({ ip: ipv4, names: z.array(z.string().min(1)).min(1) })).optional(),
});
/** The arguments after defaults. */
export type EtcHostsArgs = z.output<typeof etcHostsArgs>;
/** One /etc/hosts line: an address and its names. */
export type HostsEntry = { ip: string; names: string[] };

function beginMarker(cluster: string): string {
  return `# BEGIN hardway cluster ${cluster}`;
}

function endMarker(cluster: string): string {
  return `# END hardway cluster ${cluster}`;
}

/** The managed block, markers included, without a final newline. */
export function renderHostsBlock(cluster: string, entries: readonly HostsEntry[]): string {
  return [`${beginMarker(cluster)} (managed by hardway; edits inside this block are replaced)`, ...entries.map((entry) => `${entry.ip} ${entry.names.join(' ')}`), endMarker(cluster)].join('\n');
}

/** Why: replace our block in place (or append it), keeping every other line byte for byte. */
export function updateHostsFile(current: string, cluster: string, entries: readonly HostsEntry[]): string {
  const block = renderHostsBlock(cluster, entries);
  const lines = current.split('\n');
  const isBegin = (line: string) => line === beginMarker(cluster) || line.startsWith(`${beginMarker(cluster)} `);
  const start = lines.findIndex(isBegin);
  const end = start >= 0 ? lines.findIndex((line, index) => index > start && line === endMarker(cluster)) : -1;
  if (start >= 0 && end > start) return [...lines.slice(0, start), block, ...lines.slice(end + 1)].join('\n');
  const base = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  return `${base}${block}\n`;
}

/** The file as it is to be: written whole (`content`), or, on a node never read, the cluster's block in place of any it has. */
export type EtcHostsPlan = { content: string } | { block: string; cluster: string };

/** Why: the pure decision, tested with fixtures of real /etc/hosts files. */
export function decideEtcHosts(current: string, cluster: string, entries: readonly HostsEntry[], path = '/etc/hosts'): CheckResult<EtcHostsPlan> {
  const next = updateHostsFile(current, cluster, entries);
  const count = `${entries.length} cluster ${entries.length === 1 ? 'entry' : 'entries'}`;
  if (next === current) return { changed: false, reason: `${count} present` };
  const hadBlock = current.split('\n').some((line) => line.startsWith(beginMarker(cluster)));
  return { changed: true, reason: `${hadBlock ? 'update' : 'add'} ${count} in ${path}`, diff: unifiedDiff(current, next, { before: path, after: `${path} (new)` }), plan: { content: next } };
}

/** Every node of the inventory by its internal address. */
export function defaultEntries(nodes: readonly { name: string; internalIP: string }[]): HostsEntry[] {
  return nodes.map((node) => ({ ip: node.internalIP, names: [node.name] }));
}

/**
 * The file from stdin through a temp file and rename; where /etc/hosts is a bind mount
 * (containers), in place. With `cluster` (a node never read) stdin is only the block: the file
 * minus any block of that cluster comes first, so a replayed transcript replaces the block. A
 * subshell, so a heredoc feeds it whole.
 */
export function writeHostsCommand(path: string, cluster?: string): string {
  const q = shellQuote(path);
  // '$a\' ends a last line that lacks a newline before the block follows it.
  const fill = cluster === undefined ? `cat > "$t"` : `{ sed -e ${shellQuote(`/^${beginMarker(cluster)} /,/^${endMarker(cluster)}$/d`)} -e '$a\\' -- ${q} 2>/dev/null || true; cat; } > "$t"`;
  const temp = shellQuote(`${posix.dirname(path)}/.hosts.XXXXXX`);
  return `(set -e; t=$(mktemp ${temp}); ${fill}; chmod 0644 "$t"; mv -f "$t" ${q} 2>/dev/null || { cat "$t" > ${q}; rm -f "$t"; })`;
}

/** The plan's one command, for apply and describe alike: the write fed by its content. */
function writeHostsLine(path: string, plan: EtcHostsPlan): DescribedCommand {
  return 'content' in plan ? withInput(writeHostsCommand(path), plan.content) : withInput(writeHostsCommand(path, plan.cluster), plan.block);
}

/** Why: people on a node reach the others by name (ssh etcd-1, ping controller-0). */
function readHostsCommand(path: string): string {
  return `[ -e ${shellQuote(path)} ] || exit 0; cat -- ${shellQuote(path)}`;
}

/** A node never read: whatever block of this cluster it has is dropped, and the block appended. */
function freshPlan(ctx: DescribeContext, args: EtcHostsArgs): EtcHostsPlan {
  return { cluster: ctx.run.spec.name, block: `${renderHostsBlock(ctx.run.spec.name, args.entries ?? defaultEntries(ctx.run.inventory.nodes))}\n` };
}

export const etcHostsModule = defineModule({
  name: 'etc-hosts',
  where: 'remote',
  summary: 'List every node of the cluster in /etc/hosts (a managed block)',
  args: etcHostsArgs,
  async reads(_ctx, args) {
    return [readHostsCommand(args.path)];
  },
  async check(ctx, args): Promise<CheckResult<EtcHostsPlan>> {
    requireNode(ctx);
    // A missing file reads as empty; one that cannot be read fails the task.
    const current = await readFact(ctx, readHostsCommand(args.path));
    return decideEtcHosts(current, ctx.run.spec.name, args.entries ?? defaultEntries(ctx.run.inventory.nodes), args.path);
  },
  async apply(ctx, args, change) {
    const transport = await ctx.connect();
    const write = writeHostsLine(args.path, change.plan ?? freshPlan(ctx, args));
    await transport.exec(heredoc(write.command, write.stdin!), { signal: ctx.signal });
  },
  describe(ctx, args, plan) {
    return [writeHostsLine(args.path, plan ?? freshPlan(ctx, args))];
  },
});
