// `template: { src, dest, mode, vars }`: render `units/<src>` with eta (the run's template variables
// plus `vars`) and upload it when it differs. A `*.service` written under /etc/systemd/system is
// noted so the service module reloads systemd once before using it.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Eta } from 'eta';
import { z } from 'zod';
import type { DescribeContext } from '../engine/context.ts';
import { TaskError } from '../errors.ts';
import { describeUpload } from '../transport/remote-file.ts';
import { decideUpload, fileArgs } from './copy.ts';
import { defineModule } from './module.ts';
import { noteUnitChange, readFileFacts, requireNode, sshTarget } from './remote-support.ts';
import { unifiedDiff } from './text-diff.ts';

/** Playbook arguments: `template: { src, dest, mode, vars }`. */
export const templateArgs = z.strictObject({
  /** A file under units/ in the package, e.g. `etcd.service`. */
  src: z.string().regex(/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/, { message: 'must name a file under units/, like etcd.service' }).refine((value) => !value.split('/').includes('..'), { message: 'must stay inside units/' }),
  ...fileArgs,
  /** Extra variables for this template (override the run's). */
  vars: z.record(z.string(), z.unknown()).optional(),
});
/** The arguments after defaults. */
export type TemplateArgs = z.output<typeof templateArgs>;

/** Why: the engine and tests render with the same settings (eta v4, views = units/, no HTML escaping). */
export function renderTemplate(ctx: DescribeContext & { task?: string }, args: Pick<TemplateArgs, 'src' | 'vars'>): Buffer {
  const eta = new Eta({ views: join(ctx.run.projectRoot, 'units'), autoEscape: false });
  try {
    return Buffer.from(eta.render(args.src, { ...ctx.vars, ...args.vars }), 'utf8');
  } catch (error) {
    throw new TaskError(`cannot render units/${args.src}: ${(error as Error).message}`, { node: ctx.node?.name, task: ctx.task });
  }
}

/** Only text of a reasonable size is diffed; the diff is for people. */
function printableDiff(before: Buffer | undefined, after: Buffer, dest: string, node: string): string | undefined {
  if (!before || before.length > 256 * 1024 || after.length > 256 * 1024 || before.includes(0)) return undefined;
  return unifiedDiff(before.toString('utf8'), after.toString('utf8'), { before: `${node}:${dest}`, after: `${dest} (rendered)` }) || undefined;
}

/** Why: units and configs are readable templates in units/, rendered per node. */
export const templateModule = defineModule({
  name: 'template',
  where: 'remote',
  summary: 'Render a units/ template with the cluster values and upload it when it differs',
  args: templateArgs,
  async check(ctx, args) {
    const node = requireNode(ctx);
    const rendered = renderTemplate(ctx, args);
    const transport = await ctx.connect();
    const facts = await readFileFacts(transport, args.dest, { hashIfSize: rendered.length, signal: ctx.signal });
    const sha256 = facts.sha256 ? createHash('sha256').update(rendered).digest('hex') : undefined;
    let result;
    try {
      result = decideUpload(args.dest, facts, { size: rendered.length, sha256 }, args);
    } catch (error) {
      throw new TaskError((error as Error).message, { node: node.name, step: ctx.step, task: ctx.task });
    }
    if (!result.changed) return result;
    const contentChanged = facts.state === 'present' && (facts.sha256 === undefined || facts.sha256 !== sha256);
    const diff = contentChanged ? printableDiff(await transport.readFile(args.dest), rendered, args.dest, node.name) : undefined;
    return { ...result, data: rendered, ...(diff ? { diff } : {}) };
  },
  async apply(ctx, args, check) {
    const transport = await ctx.connect();
    const rendered = Buffer.isBuffer(check.data) ? check.data : renderTemplate(ctx, args);
    const result = await transport.upload(rendered, args.dest, { mode: args.mode, owner: args.owner, group: args.group, signal: ctx.signal });
    if (result.changed) noteUnitChange(ctx.scratch, args.dest);
    return result;
  },
  describe(ctx, args) {
    const name = args.dest.split('/').pop() ?? args.src;
    return [`# ${name}: units/${args.src} rendered with this cluster's values (the rendered copy is on the node)`, ...describeUpload(name, args.dest, sshTarget(ctx), args)];
  },
});
