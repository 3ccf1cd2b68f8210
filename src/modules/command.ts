// `command: { cmd, creates, unless, timeout }`: run a shell command on the node, as root, unless a
// guard says it already ran: `creates` (a path that exists afterwards) or `unless` (a command that
// succeeds when nothing is to do). Without a guard it runs every time and reports changed.
import { z } from 'zod';
import { duration } from '../spec/schema.ts';
import { parseDuration } from '../pki/duration.ts';
import { shellQuote } from '../transport/shell.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { lineLogger, requireNode } from './remote-support.ts';

/** Playbook arguments: `command: { cmd, creates, unless, timeout }`. */
export const commandArgs = z.strictObject({
  cmd: z.string().min(1),
  creates: z.string().regex(/^\/./, { message: 'must be an absolute path on the node' }).optional(),
  unless: z.string().min(1).optional(),
  timeout: duration.default('10m'),
});
/** The arguments after defaults. */
export type CommandArgs = z.output<typeof commandArgs>;

/** What the guards found: `creates` path present, `unless` exit code. */
export interface CommandFacts {
  createsExists?: boolean;
  unlessCode?: number;
}

/** Why: the pure decision, tested with fixtures; guards are read in order creates, unless. */
export function decideCommand(facts: CommandFacts, args: CommandArgs): CheckResult {
  if (args.creates && facts.createsExists) return { changed: false, reason: `${args.creates} exists` };
  if (args.unless && facts.unlessCode === 0) return { changed: false, reason: `\`${args.unless}\` succeeded` };
  return { changed: true, reason: `run \`${args.cmd.length > 80 ? `${args.cmd.slice(0, 80)}…` : args.cmd}\`` };
}

/** Why: the escape hatch for one-off steps (etcdctl member add), kept idempotent by its guards. */
export const commandModule = defineModule({
  name: 'command',
  where: 'remote',
  summary: 'Run a shell command on the node, guarded by creates/unless',
  args: commandArgs,
  async check(ctx, args) {
    requireNode(ctx);
    const transport = await ctx.connect();
    const facts: CommandFacts = {};
    if (args.creates) facts.createsExists = (await transport.exec(`test -e ${shellQuote(args.creates)}`, { check: false, signal: ctx.signal })).code === 0;
    if (args.unless && !facts.createsExists) {
      facts.unlessCode = (await transport.exec(args.unless, { check: false, signal: ctx.signal, timeoutMs: parseDuration(args.timeout) })).code;
    }
    return decideCommand(facts, args);
  },
  async apply(ctx, args) {
    const transport = await ctx.connect();
    const out = lineLogger(ctx.log);
    const err = lineLogger(ctx.log);
    try {
      await transport.exec(args.cmd, { signal: ctx.signal, timeoutMs: parseDuration(args.timeout), onStdout: out.write, onStderr: err.write });
    } finally {
      out.flush();
      err.flush();
    }
  },
  describe(_ctx, args) {
    const unless = args.unless && /[;&|]/.test(args.unless) ? `( ${args.unless} )` : args.unless;
    const guards = [...(args.creates ? [`[ -e ${shellQuote(args.creates)} ]`] : []), ...(unless ? [unless] : [])];
    return [guards.length ? `${guards.join(' || ')} || ${args.cmd}` : args.cmd];
  },
});
