// `etc-hosts: {}`: every node of the cluster by name in /etc/hosts, inside a block hardway owns
// (`# BEGIN hardway cluster NAME` ... `# END ...`); lines outside the block are never touched.
import { z } from 'zod';
import { ipv4 } from '../spec/schema.ts';
import { shellQuote } from '../transport/shell.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { readFact, requireNode } from './remote-support.ts';
import { heredoc } from './describe-lines.ts';
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

/** Why: the pure decision, tested with fixtures of real /etc/hosts files. */
export function decideEtcHosts(current: string, cluster: string, entries: readonly HostsEntry[], path = '/etc/hosts'): CheckResult {
  const next = updateHostsFile(current, cluster, entries);
  const count = `${entries.length} cluster ${entries.length === 1 ? 'entry' : 'entries'}`;
  if (next === current) return { changed: false, reason: `${count} present` };
  const hadBlock = current.split('\n').some((line) => line.startsWith(beginMarker(cluster)));
  return { changed: true, reason: `${hadBlock ? 'update' : 'add'} ${count} in ${path}`, diff: unifiedDiff(current, next, { before: path, after: `${path} (new)` }), data: next };
}

/** Every node of the inventory by its internal address. */
export function defaultEntries(nodes: readonly { name: string; internalIP: string }[]): HostsEntry[] {
  return nodes.map((node) => ({ ip: node.internalIP, names: [node.name] }));
}

/** Written through a temp file and rename; where /etc/hosts is a bind mount (containers), in place. */
export function writeHostsCommand(path: string): string {
  const q = shellQuote(path);
  return `set -e; t=$(mktemp "$(dirname ${q})/.hosts.XXXXXX"); cat > "$t"; chmod 0644 "$t"; if ! mv -f "$t" ${q} 2>/dev/null; then cat "$t" > ${q}; rm -f "$t"; fi`;
}

/** Why: people on a node reach the others by name (ssh etcd-1, ping controller-0). */
function readHostsCommand(path: string): string {
  return `[ -e ${shellQuote(path)} ] || exit 0; cat -- ${shellQuote(path)}`;
}

export const etcHostsModule = defineModule({
  name: 'etc-hosts',
  where: 'remote',
  summary: 'List every node of the cluster in /etc/hosts (a managed block)',
  args: etcHostsArgs,
  async reads(_ctx, args) {
    return [readHostsCommand(args.path)];
  },
  async check(ctx, args) {
    requireNode(ctx);
    // A missing file reads as empty; one that cannot be read fails the task.
    const current = await readFact(ctx, readHostsCommand(args.path));
    return decideEtcHosts(current, ctx.run.spec.name, args.entries ?? defaultEntries(ctx.run.inventory.nodes), args.path);
  },
  async apply(ctx, args, check) {
    const transport = await ctx.connect();
    await transport.exec(writeHostsCommand(args.path), { stdin: check.data as string, signal: ctx.signal });
  },
  describe(ctx, args) {
    const entries = args.entries ?? defaultEntries(ctx.run.inventory.nodes);
    const cluster = ctx.run.spec.name;
    const q = shellQuote(args.path);
    // sed into a temp file and cat back (not sed -i): /etc/hosts may be a bind mount in containers.
    return [
      `sed ${shellQuote(`/^${beginMarker(cluster)} /,/^${endMarker(cluster)}$/d`)} ${q} > /tmp/hosts.hardway && cat /tmp/hosts.hardway > ${q} && rm -f /tmp/hosts.hardway`,
      heredoc(`cat >> ${q}`, `${renderHostsBlock(cluster, entries)}\n`),
    ];
  },
});
