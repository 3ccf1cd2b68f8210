// --transcript FILE: a bash script of what the run did (or, with --dry-run, would do), per step and
// per node, as a person would type it. Modules describe their commands as structured lines
// (src/modules/described.ts); this is the one place that wraps node commands in `ssh` and uploads in `scp` with the
// cluster's key and known_hosts. Secrets are files referenced by path, never written here.
import { chmod } from 'node:fs/promises';
import type { TranscriptEntry, TranscriptSink } from '../modules/module.ts';
import { HardwayError } from '../errors.ts';
import { deriveInventory } from '../inventory/derive.ts';
import type { Node } from '../inventory/node.ts';
import { classify, heredoc, heredocParts } from '../modules/described.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import { shellJoin, shellQuote } from '../transport/shell.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { LoadedCluster } from './common.ts';

/** What the script is written from: the spec's SSH settings, the nodes, where it runs. */
export interface TranscriptInput {
  spec: Pick<ClusterSpec, 'name' | 'provider' | 'ssh'>;
  clusterDir: string;
  nodes: readonly Node[];
  dryRun: boolean;
}

/** The run's sink for describe() lines, written as a script once the run ends. */
export interface Transcript extends TranscriptSink {
  write(path: string): Promise<void>;
}

/** Why: a learner replays the run by hand; the script is the run's own account of itself. */
export function createTranscript(cluster: LoadedCluster, dryRun: boolean): Transcript {
  const entries: TranscriptEntry[] = [];
  return {
    add: (entry) => entries.push(entry),
    write: async (path) => {
      // The infra step may have learned addresses during the run (AWS): read them from the state now.
      const nodes = deriveInventory(cluster.spec, cluster.state.data.providerFacts).nodes;
      const text = renderTranscript({ spec: cluster.spec, clusterDir: cluster.clusterDir, nodes, dryRun }, entries);
      await writeFileAtomic(path, text, { mode: 0o755 });
      await chmod(path, 0o755);
    },
  };
}

const SAFE_HOME_PATH = /^~\/[A-Za-z0-9_@%+=:,./-]+$/;

/** The key as the script names it: relative to the cluster directory, `~/...`, or absolute. */
function keyArgument(keyPath: string): string {
  return SAFE_HOME_PATH.test(keyPath) ? keyPath : shellQuote(keyPath);
}

/** Options every ssh and scp line shares: key, pinned host keys, bastion. */
function commonOptions(ssh: ClusterSpec['ssh']): string[] {
  // accept-new is OpenSSH's "pin on first contact": a new node is added to known_hosts, a key that
  // changed is refused, as hardway's own connections do.
  const options = [
    `-i ${keyArgument(ssh.keyPath)}`,
    ...(ssh.agent ? [] : ['-o IdentitiesOnly=yes']),
    '-o UserKnownHostsFile=known_hosts',
    '-o StrictHostKeyChecking=accept-new',
  ];
  if (ssh.bastion) {
    const jump = ['ssh', ...options, ...(ssh.bastion.port !== 22 ? [`-p ${ssh.bastion.port}`] : []), '-W %h:%p', `${ssh.bastion.user}@${ssh.bastion.host}`].join(' ');
    options.push(`-o ${shellQuote(`ProxyCommand=${jump}`)}`);
  }
  return options;
}

type Reachable = Pick<Node, 'user' | 'sshAddress' | 'sshPort'>;

/**
 * The remote command as one word for the local shell, exactly as written: in single quotes, or in
 * double quotes (with $ ` " \ escaped) when it holds single quotes itself, which reads far better
 * than nested '\'' and keeps shellcheck quiet (`"timeout 90 sh -c 'until ...; do sleep 1; done'"`).
 */
export function quoteRemote(command: string): string {
  if (!command.includes("'")) return shellQuote(command);
  // A backslash stays literal in double quotes unless one of $ ` " \ or a newline follows it (or the closing quote).
  return `"${command.replace(/[$`"]|\\(?=[$`"\\\n]|$)/g, '\\$&')}"`;
}

/** `ssh OPTIONS USER@HOST`, before the command. */
function sshPrefix(input: Pick<TranscriptInput, 'spec'>, node: Reachable): string {
  return ['ssh', ...commonOptions(input.spec.ssh), ...(node.sshPort !== 22 ? [`-p ${node.sshPort}`] : []), `${node.user}@${node.sshAddress}`].join(' ');
}

/** Why: one function turns a node command into the ssh line a person types, its input and sudo included. */
export function sshLine(input: Pick<TranscriptInput, 'spec'>, node: Reachable, command: string, stdin?: string): string {
  const asRoot = (text: string) => (node.user === 'root' ? text : `sudo sh -c ${shellQuote(text)}`);
  const prefix = sshPrefix(input, node);
  if (stdin === undefined) return `${prefix} ${quoteRemote(asRoot(command))}`;
  // The input is fed from the workstation through ssh's stdin: the content stays readable.
  const parts = heredocParts(command, stdin);
  return `${prefix} ${quoteRemote(asRoot(parts.command))} ${parts.redirect}${parts.body ? `\n${parts.body}` : ''}`;
}

/** The scp line(s) for one upload; a user other than root uploads to /tmp and installs with sudo. */
export function scpLines(input: Pick<TranscriptInput, 'spec'>, node: Reachable, source: string, dest: string): string[] {
  const host = node.sshAddress.includes(':') ? `[${node.sshAddress}]` : node.sshAddress;
  const scp = (target: string) => ['scp', ...commonOptions(input.spec.ssh), ...(node.sshPort !== 22 ? [`-P ${node.sshPort}`] : []), shellQuote(source), `${node.user}@${host}:${shellQuote(target)}`].join(' ');
  if (node.user === 'root') return [scp(dest)];
  const temp = `/tmp/hardway-upload.${dest.split('/').pop() || 'file'}`;
  // install -m 0600 so a key is never readable by others on its way; the chmod line after it sets the mode.
  return [scp(temp), `${sshPrefix(input, node)} ${quoteRemote(`sudo install -m 0600 ${shellQuote(temp)} ${shellQuote(dest)} && rm -f ${shellQuote(temp)}`)}`];
}

/** A step's entries in the order a person replays them: each phase node by node, then `once` tasks and handlers. */
export function orderEntries(entries: readonly TranscriptEntry[], nodeOrder: readonly string[]): TranscriptEntry[][] {
  const segments: TranscriptEntry[][] = [];
  let previous: string | undefined;
  for (const entry of entries) {
    const key = entry.handler !== undefined ? `handler:${entry.handler}` : entry.once ? undefined : 'tasks';
    if (key === undefined || key !== previous) segments.push([]);
    segments[segments.length - 1]!.push(entry);
    previous = key;
  }
  const rank = (entry: TranscriptEntry) => (entry.node === undefined ? -1 : nodeOrder.indexOf(entry.node));
  // Within a phase, nodes ran in parallel: grouping by node keeps each node's tasks in order.
  return segments.map((segment) => segment.map((entry, index) => ({ entry, index })).sort((a, b) => rank(a.entry) - rank(b.entry) || a.index - b.index).map(({ entry }) => entry));
}

/** `controller-0` -> `HARDWAY_ADDR_CONTROLLER_0`: an environment variable a replay sets. */
export function addressVariable(node: string): string {
  return `HARDWAY_ADDR_${node.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function functionName(step: string): string {
  return `step_${step.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Lines of one task, wrapped for where each runs. */
function taskLines(input: TranscriptInput, entry: TranscriptEntry, nodes: ReadonlyMap<string, Node>): string[] {
  const find = (name: string): Node => {
    const node = nodes.get(name);
    if (!node || !node.sshAddress) throw new HardwayError(`the transcript cannot address ${name} (no SSH address in the inventory) for task "${entry.task}" of step ${entry.step}`);
    return node;
  };
  const out: string[] = [];
  for (const line of entry.commands.map(classify)) {
    if (line.kind === 'comment') out.push(line.text);
    else if (line.kind === 'upload') {
      if (entry.node === undefined) throw new HardwayError(`task "${entry.task}" of step ${entry.step} describes an upload but runs on no node (a bug: report it)`);
      out.push(...scpLines(input, find(entry.node), line.source, line.dest));
    } else if (line.workstation || entry.node === undefined) out.push(line.stdin === undefined ? line.command : heredoc(line.command, line.stdin));
    else out.push(sshLine(input, find(entry.node), line.command, line.stdin));
  }
  return out;
}

/** Indent a line inside a step function, leaving heredoc bodies and terminators in column 0. */
function indent(line: string): string {
  const [first = '', ...rest] = line.split('\n');
  return [`  ${first}`, ...rest].join('\n');
}

/** Why: the whole script as text, pure, so quoting and layout are tested without a run. */
export function renderTranscript(input: TranscriptInput, entries: readonly TranscriptEntry[]): string {
  // A dry run of machines not made yet (aws): their public addresses come from the environment.
  const unaddressed = input.dryRun ? input.nodes.filter((node) => !node.sshAddress) : [];
  const nodes = new Map(input.nodes.map((node) => [node.name, unaddressed.includes(node) ? { ...node, sshAddress: `"$${addressVariable(node.name)}"` } : node]));
  const nodeOrder = input.nodes.map((node) => node.name);
  const steps: string[] = [];
  for (const entry of entries) if (!steps.includes(entry.step)) steps.push(entry.step);

  const lines = [
    '#!/usr/bin/env bash',
    // Values from cluster.yaml (paths, subject names) are single-quoted on purpose: `$HOME` in a
    // key path is a literal, never expanded. shellcheck's note that it will not expand is the point.
    '# shellcheck disable=SC2016',
    `# hardway transcript for cluster ${input.spec.name} (${input.spec.provider})${input.dryRun ? ': a dry run, so what the run WOULD do (nothing was changed)' : ': what the run did'}.`,
    '# Each task that changed (or would change) something, as the commands a person types by hand.',
    '#',
    `#   bash ${'"$0"'}              replay every step below, in order`,
    `#   bash ${'"$0"'} etcd verify  replay only the steps named (${steps.join(', ') || 'none recorded'})`,
    '#',
    '# Workstation commands run in the cluster directory. Node commands go over ssh with the cluster key',
    "# and its known_hosts (a new node's key is pinned, a changed key refused); files go over scp.",
    '# Secrets (private keys, the encryption key) are files referenced by path, never written here.',
    '# Replaying the workstation steps (pki, kubeconfigs, encryption) makes new keys: do that in a new',
    '# cluster directory; against the nodes of this one, replay only the node steps.',
    ...(unaddressed.length
      ? [
          '#',
          '# The nodes do not exist yet: their SSH addresses are known once the infra step made them',
          '# (`hardway status` lists them). To replay node steps, give each in the environment:',
          ...unaddressed.map((node) => `#   ${addressVariable(node.name)}=ADDRESS   (${node.name}, ${node.internalIP})`),
        ]
      : []),
    'set -euo pipefail',
    `cd ${shellQuote(input.clusterDir)}`,
  ];
  for (const step of steps) {
    lines.push('', `${functionName(step)}() {`);
    const body: string[] = [];
    for (const segment of orderEntries(
      entries.filter((entry) => entry.step === step),
      nodeOrder,
    )) {
      let header: string | undefined;
      for (const entry of segment) {
        const node = entry.node ? nodes.get(entry.node) : undefined;
        const where = entry.node ? `${entry.node}${node?.internalIP ? ` (${node.internalIP})` : ''}` : 'the workstation';
        const next = `${entry.handler !== undefined ? `handler "${entry.handler}" ` : entry.once ? 'once, after every node above, ' : ''}on ${where}`;
        if (next !== header) body.push(`# ---- ${next}`);
        header = next;
        body.push(`# ${entry.task}`, ...taskLines(input, entry, nodes));
      }
    }
    if (!body.some((line) => !line.startsWith('#'))) body.push(':');
    lines.push(...body.map(indent), '}');
  }
  lines.push(
    '',
    `steps=(${shellJoin(steps)})`,
    'if [ "$#" -eq 0 ]; then set -- "${steps[@]}"; fi',
    'for step in "$@"; do',
    '  case " ${steps[*]} " in',
    '    *" $step "*) "step_${step//-/_}" ;;',
    '    *) echo "no step $step in this transcript; it has: ${steps[*]}" >&2; exit 2 ;;',
    '  esac',
    'done',
  );
  const text = `${lines.join('\n')}\n`;
  if (/PRIVATE KEY-----/.test(text)) throw new HardwayError('refusing to write a transcript that holds a private key; a module described a secret inline (a bug: report it)');
  return text;
}
