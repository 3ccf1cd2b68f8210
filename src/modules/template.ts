// `template: { src, dest, mode, vars }`: render `units/<src>` with eta (the run's template variables
// plus `vars`) and upload it when it differs. A `*.service` written under /etc/systemd/system is
// noted so the service module reloads systemd once before using it.
import { join } from 'node:path';
import { Eta } from 'eta';
import { z } from 'zod';
import { resolveSpecPath } from '../spec/paths.ts';
import { TaskError } from '../errors.ts';
import { RemoteCommandError } from '../transport/errors.ts';
import { shellQuote } from '../transport/shell.ts';
import { comment, metadataLines, writeFile } from './described.ts';
import { decideUpload, fileArgs, FRESH_UPLOAD } from './copy.ts';
import type { FileChange } from '../transport/remote-file.ts';
import { type CheckResult, type DescribeContext, type RunContext, defineModule } from './module.ts';
import { noteUnitChange, readFileFacts, requireNode } from './remote-support.ts';
import { unifiedDiff } from './text-diff.ts';
import { sha256Buffer } from '../artifacts/checksum.ts';

/** Playbook arguments: `template: { src, dest, mode, vars }`. */
export const templateArgs = z.strictObject({
  /** A file under units/ in the package, e.g. `etcd.service`. */
  src: z.string().regex(/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/, { message: 'must name a file under units/, like etcd.service' }).refine((value) => !value.split('/').includes('..'), { message: 'must stay inside units/' }),
  ...fileArgs,
  /** Extra variables for this template (override the run's). */
  vars: z.record(z.string(), z.unknown()).optional(),
  /**
   * A check of the rendered file before it replaces the old one, `%s` standing for the staged copy
   * (`haproxy -c -f %s`). Plain words only: it is a program and its flags, never shell.
   */
  validate: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_./=-]*( [A-Za-z0-9_./=%-]+)*$/, { message: 'must be a program and its arguments in plain words, like "haproxy -c -f %s"' })
    .refine((value) => value.split(' ').filter((word) => word === '%s').length === 1 && !value.replace(/(^| )%s( |$)/, ' ').includes('%'), { message: 'must hold %s (the staged file) once, as a word of its own' })
    .optional(),
});
/** The arguments after defaults. */
export type TemplateArgs = z.output<typeof templateArgs>;

/** The spec's `unitsDir` (a copy of units/ a user edits), else the package's units/. */
export function unitsDirectory(run: Pick<RunContext, 'spec' | 'clusterDir' | 'projectRoot'>): string {
  return run.spec.unitsDir ? resolveSpecPath(run.clusterDir, run.spec.unitsDir) : join(run.projectRoot, 'units');
}

/** Why: the engine and tests render with the same settings (eta v4, views = units/, no HTML escaping). */
export function renderTemplate(ctx: DescribeContext & { task?: string }, args: Pick<TemplateArgs, 'src' | 'vars'>): Buffer {
  const views = unitsDirectory(ctx.run);
  const eta = new Eta({ views, autoEscape: false });
  try {
    return Buffer.from(eta.render(args.src, { ...ctx.vars, ...args.vars }), 'utf8');
  } catch (error) {
    const where = ctx.run.spec.unitsDir ? `${join(views, args.src)} (unitsDir in the spec)` : `units/${args.src}`;
    throw new TaskError(`cannot render ${where}: ${(error as Error).message}`, { node: ctx.node?.name, task: ctx.task });
  }
}

/** Only text of a reasonable size is diffed; the diff is for people. */
function printableDiff(before: Buffer | undefined, after: Buffer, dest: string, node: string): string | undefined {
  if (!before || before.length > 256 * 1024 || after.length > 256 * 1024 || before.includes(0)) return undefined;
  return unifiedDiff(before.toString('utf8'), after.toString('utf8'), { before: `${node}:${dest}`, after: `${dest} (rendered)` }) || undefined;
}

/** A file that does not exist yet, as a unified diff from /dev/null. */
function newFileDiff(text: string, dest: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return [`--- /dev/null`, `+++ ${dest} (rendered)`, `@@ -0,0 +1,${lines.length} @@`, ...lines.map((line) => `+${line}`)].join('\n');
}

/** What check rendered and decided: the bytes apply uploads and describe shows, and how they go. */
export interface TemplatePlan {
  rendered: Buffer;
  upload: FileChange;
}

/** The validate argument with the (quoted) staged path in place of its `%s` word. */
function validateCommand(validate: string, quotedStaged: string): string {
  return validate.split(' ').map((word) => (word === '%s' ? quotedStaged : word)).join(' ');
}

/** A node never read has no such file: the rendering is written whole. */
function freshTemplate(ctx: DescribeContext, args: TemplateArgs): TemplatePlan {
  return { rendered: renderTemplate(ctx, args), upload: FRESH_UPLOAD };
}

/** Why: units and configs are readable templates in units/, rendered per node. */
export const templateModule = defineModule({
  name: 'template',
  where: 'remote',
  summary: 'Render a units/ template with the cluster values and upload it when it differs',
  args: templateArgs,
  async reads(ctx, args) {
    return [{ path: args.dest, hashIfSize: renderTemplate(ctx, args).length }];
  },
  async check(ctx, args): Promise<CheckResult<TemplatePlan>> {
    const node = requireNode(ctx);
    const rendered = renderTemplate(ctx, args);
    const facts = await readFileFacts(ctx, args.dest, { hashIfSize: rendered.length });
    const sha256 = facts.sha256 ? sha256Buffer(rendered) : undefined;
    let result: CheckResult<FileChange>;
    try {
      result = decideUpload(args.dest, facts, { size: rendered.length, sha256 }, args);
    } catch (error) {
      throw new TaskError((error as Error).message, { node: node.name, step: ctx.step, task: ctx.task });
    }
    if (!result.changed) return result;
    const contentChanged = facts.state === 'present' && (facts.sha256 === undefined || facts.sha256 !== sha256);
    const diff = contentChanged ? printableDiff(await (await ctx.connect()).readFile(args.dest), rendered, args.dest, node.name) : undefined;
    // A dry run applies nothing: note the unit as apply would, so the service tasks after it show
    // the daemon-reload a run would do (plan --diff).
    if (ctx.run.options.dryRun) noteUnitChange(ctx.scratch, args.dest);
    return { changed: true, reason: result.reason, plan: { rendered, upload: result.plan ?? FRESH_UPLOAD }, ...(diff ? { diff } : {}) };
  },
  async apply(ctx, args, change) {
    const transport = await ctx.connect();
    const { rendered, upload } = change.plan ?? freshTemplate(ctx, args);
    // Carried out as check planned it: the node's file is not read a second time.
    let checkedWith: string | undefined;
    const validate = args.validate && upload.action === 'transfer' ? { validate: (staged: string) => (checkedWith = validateCommand(args.validate!, staged)) } : {};
    const result = await transport.upload(rendered, args.dest, { mode: args.mode, owner: args.owner, group: args.group, signal: ctx.signal, planned: upload, ...validate }).catch((error: unknown) => {
      if (error instanceof RemoteCommandError && checkedWith !== undefined && error.command === checkedWith) {
        const node = requireNode(ctx).name;
        throw new TaskError(`units/${args.src} rendered for ${node} fails \`${args.validate}\`; ${args.dest} is left as it was${error.stderrTail ? `:\n${error.stderrTail}` : ''}`, { node, step: ctx.step, task: ctx.task }, { cause: error });
      }
      throw error;
    });
    if (result.changed) noteUnitChange(ctx.scratch, args.dest);
    return result;
  },
  fresh(ctx, args) {
    const plan = freshTemplate(ctx, args);
    noteUnitChange(ctx.scratch, args.dest);
    return { changed: true, reason: plan.upload.reason, plan, ...(plan.rendered.length <= 256 * 1024 ? { diff: newFileDiff(plan.rendered.toString('utf8'), args.dest) } : {}) };
  },
  describe(ctx, args, plan) {
    const { rendered, upload } = plan ?? freshTemplate(ctx, args);
    // Only mode or owner differ: the content stays as it is.
    if (upload.action === 'metadata') return metadataLines(args.dest, args);
    const heading = comment(`units/${args.src} rendered with this cluster's values${ctx.node ? ` for ${ctx.node.name}` : ''}:`);
    if (!args.validate) return [heading, writeFile(args.dest, rendered.toString('utf8')), ...metadataLines(args.dest, args)];
    // Staged next to the file, checked, and only then moved over it (as apply does).
    const staged = `${args.dest}.hardway-new`;
    return [heading, writeFile(staged, rendered.toString('utf8')), ...metadataLines(staged, args), validateCommand(args.validate, shellQuote(staged)), `mv -f ${shellQuote(staged)} ${shellQuote(args.dest)}`];
  },
});
