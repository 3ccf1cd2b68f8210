// `directory: { path, mode, owner, group }`: a directory on the node with this mode and owner.
import { z } from 'zod';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { TaskError } from '../errors.ts';
import { metadataCommand, metadataDifferences, normalizeMode, type FileFacts } from '../transport/remote-file.ts';
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

/** Why: pyinfra-style pure decision, tested with facts fixtures. Throws when a non-directory is in the way. */
export function decideDirectory(facts: FileFacts, args: DirectoryArgs): CheckResult {
  const wanted = { mode: args.mode, owner: args.owner, group: args.group };
  if (facts.state === 'nodir') return { changed: true, reason: `create ${args.path} and its parents` };
  if (facts.state === 'missing') return { changed: true, reason: `create ${args.path}` };
  if (facts.type !== 'directory') throw new RangeError(`${args.path} exists and is a ${facts.type}, not a directory; move it away`);
  const differences = metadataDifferences(facts, wanted);
  if (differences.length) return { changed: true, reason: `set ${differences.join(', ')}` };
  return { changed: false, reason: `exists, mode ${facts.mode}, owner ${facts.owner}:${facts.group}` };
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
  async check(ctx, args) {
    const node = requireNode(ctx);
    const facts = await readFileFacts(ctx, args.path);
    try {
      return decideDirectory(facts, args);
    } catch (error) {
      throw new TaskError((error as Error).message, { node: node.name, step: ctx.step, task: ctx.task });
    }
  },
  async apply(ctx, args) {
    const transport = await ctx.connect();
    await transport.exec(`mkdir -p -- ${shellQuote(args.path)} && ${metadataCommand(args.path, args)}`, { signal: ctx.signal });
  },
  fresh(_ctx, args) {
    return decideDirectory({ state: 'missing' }, args);
  },
  describe(_ctx, args) {
    const owner = args.owner !== undefined || args.group !== undefined ? `${args.owner ?? ''}${args.group ? `:${args.group}` : ''}` : undefined;
    return [`mkdir -p ${shellQuote(args.path)}`, `chmod ${normalizeMode(args.mode)} ${shellQuote(args.path)}`, ...(owner ? [`chown ${shellQuote(owner)} ${shellQuote(args.path)}`] : [])];
  },
});
