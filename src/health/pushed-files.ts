// After `hardway pki renew` the new certificates are on the workstation only: this compares each
// certificate and kubeconfig the playbooks copy to a node with the copy on that node (one sha256sum
// per node), so `status` can say what the next `hardway up` will push (and restart for). What was
// pushed but not yet loaded is the owed restarts in the state.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext } from '../modules/module.ts';
import type { StepGraph } from '../engine/graph.ts';
import { hostsOf } from '../engine/select.ts';
import { interpolate, templateVars } from '../engine/vars.ts';
import { type Node } from '../inventory/node.ts';
import { shellQuote } from '../transport/shell.ts';
import { sha256Buffer } from '../artifacts/checksum.ts';

/** A file of the workstation whose copy on a node differs (or is missing there). */
export interface UnpushedFile {
  node: string;
  src: string;
  dest: string;
  reason: 'differs' | 'missing on the node';
}

/** The credentials each node gets from the workstation: `copy` tasks from pki/ and kubeconfigs/, per node. */
export function credentialCopies(run: RunContext, graph: StepGraph): Map<Node, { src: string; dest: string }[]> {
  const byNode = new Map<Node, { src: string; dest: string }[]>();
  for (const playbook of graph.ordered) {
    if (playbook.hosts.kind === 'local') continue;
    const copies = playbook.tasks.filter((task) => task.module === 'copy');
    for (const node of hostsOf(playbook, run.inventory.nodes)) {
      const vars = templateVars(run, node);
      for (const task of copies) {
        const { src, dest } = interpolate(task.args, vars) as { src: string; dest: string };
        if (!/^(pki|kubeconfigs)\//.test(src)) continue;
        byNode.set(node, [...(byNode.get(node) ?? []), { src, dest }]);
      }
    }
  }
  return byNode;
}

/** Why: one exec per node answers for all its files; an unreachable node is skipped (status reports it elsewhere). */
export async function unpushedFiles(run: RunContext, graph: StepGraph, signal: AbortSignal): Promise<UnpushedFile[]> {
  const perNode = await Promise.all(
    [...credentialCopies(run, graph)].map(async ([node, copies]) => {
      const local = await Promise.all(copies.map(async (copy) => ({ ...copy, sha256: await readFile(join(run.clusterDir, copy.src)).then(sha256Buffer, () => undefined) })));
      const present = local.filter((copy) => copy.sha256);
      if (!present.length) return [];
      const transport = await run.transports.get(node, signal).catch(() => undefined);
      if (!transport) return [];
      const command = present.map((copy) => `sha256sum -- ${shellQuote(copy.dest)} 2>/dev/null || echo "- ${copy.dest.replaceAll('"', '')}"`).join('; ');
      const result = await transport.exec(command, { signal, check: false }).catch(() => undefined);
      if (!result) return [];
      const remote = new Map(
        result.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(line.indexOf(' ') + 1).trim(), line.slice(0, line.indexOf(' '))] as const),
      );
      return present.flatMap((copy): UnpushedFile[] => {
        const theirs = remote.get(copy.dest);
        if (!theirs || theirs === '-') return [{ node: node.name, src: copy.src, dest: copy.dest, reason: 'missing on the node' }];
        return theirs === copy.sha256 ? [] : [{ node: node.name, src: copy.src, dest: copy.dest, reason: 'differs' }];
      });
    }),
  );
  return perNode.flat();
}
