// `facts: {}`: read what later steps depend on (OS, architecture, kernel, systemd) and record it
// per node in .hardway/state.json. A node without a running systemd or with an architecture
// Kubernetes does not ship is stopped here, before anything is installed on it.
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { readFact, requireNode } from './remote-support.ts';

/** `facts: {}` takes no arguments. */
export const factsArgs = z.strictObject({});

/** As stored in state.json: os, osVersion, osName, arch, goArch, kernel, systemd. */
export type NodeFacts = Record<string, string>;

/** One round trip; every value on its own `key=value` line. */
export const FACTS_COMMAND = [
  `printf 'arch=%s\\n' "$(uname -m)"`,
  `printf 'kernel=%s\\n' "$(uname -r)"`,
  `if [ -r /etc/os-release ]; then ( . /etc/os-release; printf 'os=%s\\nosVersion=%s\\nosName=%s\\n' "$ID" "$VERSION_ID" "$PRETTY_NAME" ); fi`,
  `if command -v systemctl >/dev/null 2>&1; then printf 'systemd=%s\\n' "$(systemctl --version | sed -n '1s/^systemd \\([0-9]*\\).*/\\1/p')"; fi`,
  `if [ -d /run/systemd/system ]; then echo systemdRunning=yes; else echo systemdRunning=no; fi`,
].join('; ');

/** uname -m -> the name release archives use. */
const GO_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', arm64: 'arm64' };

/** `key=value` lines into facts, adding goArch (amd64/arm64) for the binaries step. */
export function parseFacts(stdout: string): NodeFacts {
  const facts: NodeFacts = {};
  for (const line of stdout.split('\n')) {
    const index = line.indexOf('=');
    if (index > 0) facts[line.slice(0, index)] = line.slice(index + 1).trim();
  }
  if (facts.arch && GO_ARCH[facts.arch]) facts.goArch = GO_ARCH[facts.arch]!;
  return facts;
}

/** One line for the recap: `Debian GNU/Linux 12 (bookworm), x86_64, systemd 252`. */
export function summarizeFacts(facts: NodeFacts): string {
  return [facts.osName || facts.os || 'unknown OS', facts.arch, facts.systemd ? `systemd ${facts.systemd}` : undefined].filter(Boolean).join(', ');
}

/** Why: the pure decision (fixtures in tests): refuse unusable nodes, record facts that changed. */
export function decideFacts(facts: NodeFacts, recorded: NodeFacts | undefined): CheckResult<NodeFacts> {
  if (!facts.goArch) throw new RangeError(`architecture ${facts.arch || 'unknown'} is not supported; Kubernetes and etcd ship amd64 and arm64 binaries`);
  if (!facts.systemd) throw new RangeError('systemd is not installed; hardway runs etcd and the control plane as systemd units');
  if (facts.systemdRunning !== 'yes') throw new RangeError('systemd is not running as PID 1 (no /run/systemd/system); boot the machine with systemd');
  const { systemdRunning: _running, ...kept } = facts;
  const same = recorded !== undefined && Object.keys(kept).length === Object.keys(recorded).length && Object.entries(kept).every(([key, value]) => recorded[key] === value);
  if (same) return { changed: false, reason: summarizeFacts(kept) };
  return { changed: true, probe: true, reason: `record facts (${summarizeFacts(kept)})`, plan: kept };
}

/** Why: later steps pick binaries by architecture, and a node without systemd must stop the run early. */
export const factsModule = defineModule({
  name: 'facts',
  where: 'remote',
  summary: 'Read the OS, architecture and systemd version of the node and record them in the state',
  args: factsArgs,
  async reads() {
    return [FACTS_COMMAND];
  },
  async check(ctx): Promise<CheckResult<NodeFacts>> {
    const node = requireNode(ctx);
    const facts = parseFacts(await readFact(ctx, FACTS_COMMAND));
    try {
      return decideFacts(facts, ctx.run.state.data.facts[node.name]);
    } catch (error) {
      throw new TaskError(`${node.name}: ${(error as Error).message}`, { node: node.name, step: ctx.step, task: ctx.task });
    }
  },
  async apply(ctx, _args, change) {
    const node = requireNode(ctx);
    const facts = change.plan;
    if (!facts) throw new TaskError('no facts were read to record', { node: node.name, step: ctx.step, task: ctx.task });
    await ctx.run.state.update((draft) => {
      draft.facts[node.name] = facts;
    });
    return { changed: false, reason: summarizeFacts(facts) };
  },
  fresh() {
    // Read on the first contact of a real run; a plan cannot know them and changes nothing by them.
    return { changed: true, probe: true, reason: 'read the OS, architecture and systemd version of the new machine' };
  },
  describe() {
    return ['uname -m', 'cat /etc/os-release', 'systemctl --version'];
  },
});
