// `hostname: { name }`: the node's hostname, now (hostname) and after a reboot (/etc/hostname). On
// cloud images cloud-init would set it back at boot, so `preserve_hostname: true` is written too.
import { z } from 'zod';
import { shellQuote } from '../transport/shell.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { readFact, requireNode } from './remote-support.ts';

/** Playbook arguments: `hostname: { name }`. */
export const hostnameArgs = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { message: 'must be a hostname like controller-0' }).max(63),
});
/** The arguments after parsing. */
export type HostnameArgs = z.output<typeof hostnameArgs>;

/** What the node says about its name. */
export interface HostnameFacts {
  /** First line of /etc/hostname ('' when missing). */
  configured: string;
  /** What `hostname` prints now. */
  current: string;
  /** none: no cloud-init; cloud: cloud-init would reset the name; preserved: it will not. */
  cloudInit: 'none' | 'cloud' | 'preserved';
}

/** cloud-init reads cloud.cfg.d/*.cfg; this file keeps it from renaming the node at boot. */
export const CLOUD_PRESERVE_FILE = '/etc/cloud/cloud.cfg.d/99-hardway-hostname.cfg';

/** One round trip: /etc/hostname, the current name, cloud-init's setting. */
export const HOSTNAME_FACTS_COMMAND = [
  `head -n1 /etc/hostname 2>/dev/null || true`,
  'echo --',
  'hostname',
  'echo --',
  `if [ -d /etc/cloud/cloud.cfg.d ]; then if grep -qsE '^preserve_hostname: *true' /etc/cloud/cloud.cfg /etc/cloud/cloud.cfg.d/*.cfg; then echo preserved; else echo cloud; fi; else echo none; fi`,
].join('; ');

/** Split HOSTNAME_FACTS_COMMAND's output on its `--` separators. */
export function parseHostnameFacts(stdout: string): HostnameFacts {
  const [configured = '', current = '', cloud = 'none'] = stdout.split('--\n').map((part) => part.trim());
  return { configured, current, cloudInit: cloud === 'cloud' || cloud === 'preserved' ? cloud : 'none' };
}

/** What a change does beyond the name itself: keep cloud-init from renaming the node at boot. */
export type HostnamePlan = Pick<HostnameFacts, 'cloudInit'>;

/** Why: the pure decision, tested with fixtures (the machine running the tests is never renamed). */
export function decideHostname(facts: HostnameFacts, args: HostnameArgs): CheckResult<HostnamePlan> {
  const reasons: string[] = [];
  if (facts.current !== args.name) reasons.push(`set hostname ${facts.current || '(none)'} -> ${args.name}`);
  if (facts.configured !== args.name) reasons.push(`write /etc/hostname${facts.configured ? ` (was ${facts.configured})` : ''}`);
  if (facts.cloudInit === 'cloud') reasons.push('keep cloud-init from resetting it (preserve_hostname)');
  if (!reasons.length) return { changed: false, reason: `hostname is ${args.name}` };
  return { changed: true, reason: reasons.join(', '), plan: { cloudInit: facts.cloudInit } };
}

/** The shell that sets the name, for apply and describe alike. */
export function hostnameCommands(name: string, facts: HostnamePlan): string[] {
  const q = shellQuote(name);
  return [
    `printf '%s\\n' ${q} > /etc/hostname`,
    `hostname ${q} 2>/dev/null || hostnamectl set-hostname ${q}`,
    ...(facts.cloudInit === 'cloud' ? [`printf 'preserve_hostname: true\\n' > ${CLOUD_PRESERVE_FILE}`] : []),
  ];
}

/** A node never read: no cloud-init is assumed (the lab's and a plain Debian's case). */
const FRESH_NODE: HostnamePlan = { cloudInit: 'none' };

/** Why: prompts, logs and `hostname` on each machine say which node it is. */
export const hostnameModule = defineModule({
  name: 'hostname',
  where: 'remote',
  summary: "Set the node's hostname (now and after reboots)",
  args: hostnameArgs,
  async reads() {
    return [HOSTNAME_FACTS_COMMAND];
  },
  async check(ctx, args): Promise<CheckResult<HostnamePlan>> {
    requireNode(ctx);
    return decideHostname(parseHostnameFacts(await readFact(ctx, HOSTNAME_FACTS_COMMAND)), args);
  },
  async apply(ctx, args, change) {
    const transport = await ctx.connect();
    await transport.exec(hostnameCommands(args.name, change.plan ?? FRESH_NODE).join(' && '), { signal: ctx.signal });
  },
  describe(_ctx, args, plan) {
    return hostnameCommands(args.name, plan ?? FRESH_NODE);
  },
});
