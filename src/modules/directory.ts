// `directory: { path, mode, owner, group }`: a directory on the node with this mode and owner.
import { z } from 'zod';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { TaskError } from '../errors.ts';
import { metadataDifferences, normalizeMode, type FileFacts } from '../transport/remote-file.ts';
import { shellQuote } from '../transport/shell.ts';
import { readFileFacts, requireNode } from './remote-support.ts';

const octalMode = z.string().regex(/^[0-7]{3,4}$/, { message: 'must be an octal mode like "0755"' });
const absolutePath = z.string().regex(/^\/./, { message: 'must be an absolute path' });

/** Playbook arguments: `directory: { path, mode, owner, group }`. */
export const directoryArgs = z.strictObject({
  path: absolutePath,
  mode: octalMode.default('0755'),
  owner: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
});
/** The arguments after defaults. */
export type DirectoryArgs = z.output<typeof directoryArgs>;

/** Make the directory (and its parents), or only set its mode and owner. */
export interface DirectoryPlan {
  create: boolean;
}

/** Why: pyinfra-style pure decision, tested with facts fixtures. Throws when a non-directory is in the way. */
export function decideDirectory(facts: FileFacts, args: DirectoryArgs): CheckResult<DirectoryPlan> {
  const wanted = { mode: args.mode, owner: args.owner, group: args.group };
  if (facts.state === 'nodir') return { changed: true, reason: `create ${args.path} and its parents`, plan: { create: true } };
  if (facts.state === 'missing') return { changed: true, reason: `create ${args.path}`, plan: { create: true } };
  if (facts.type !== 'directory') throw new RangeError(`${args.path} exists and is a ${facts.type}, not a directory; move it away`);
  const differences = metadataDifferences(facts, wanted);
  if (differences.length) return { changed: true, reason: `set ${differences.join(', ')}`, plan: { create: false } };
  return { changed: false, reason: `exists, mode ${facts.mode}, owner ${facts.owner}:${facts.group}` };
}

const FRESH: DirectoryPlan = { create: true };

/** Why: apply runs these and describe prints them: mkdir only when missing, then mode and owner. */
function directoryCommands(args: DirectoryArgs, plan: DirectoryPlan): string[] {
  const q = shellQuote(args.path);
  const owner = args.owner !== undefined || args.group !== undefined ? `${args.owner ?? ''}${args.group ? `:${args.group}` : ''}` : undefined;
  return [...(plan.create ? [`mkdir -p ${q}`] : []), `chmod ${normalizeMode(args.mode)} ${q}`, ...(owner ? [`chown ${shellQuote(owner)} ${q}`] : [])];
}

/** Why: steps create the directories their files go to, with the modes etcd and the keys need. */
export const directoryModule = defineModule({
  name: 'directory',
  where: 'remote',
  summary: 'Create a directory on the node with a mode and owner',
  args: directoryArgs,
  async reads(_ctx, args) {
    return [{ path: args.path }];
  },
  async check(ctx, args): Promise<CheckResult<DirectoryPlan>> {
    const node = requireNode(ctx);
    const facts = await readFileFacts(ctx, args.path);
    try {
      return decideDirectory(facts, args);
    } catch (error) {
      throw new TaskError((error as Error).message, { node: node.name, step: ctx.step, task: ctx.task });
    }
  },
  async apply(ctx, args, change) {
    const transport = await ctx.connect();
    await transport.exec(directoryCommands(args, change.plan ?? FRESH).join(' && '), { signal: ctx.signal });
  },
  fresh(_ctx, args) {
    return decideDirectory({ state: 'missing' }, args);
  },
  describe(_ctx, args, plan) {
    return directoryCommands(args, plan ?? FRESH);
  },
});
