// `copy: { src, dest, mode, owner, group }`: a workstation file (relative to the cluster directory,
// or absolute, e.g. in the artifact cache) on the node; skipped when the remote sha256, mode and
// owner already match. It never shows content (no diff): what it copies is mostly keys.
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { planUpload, type FileChange, type FileFacts } from '../transport/remote-file.ts';
import { fileLines } from './described.ts';
import type { CheckResult } from './module.ts';
import { defineModule } from './module.ts';
import { noteUnitChange, readFileFacts, requireNode } from './remote-support.ts';
import { sha256File } from '../artifacts/checksum.ts';

/** dest, mode, owner and group: shared by copy and template. */
export const fileArgs = {
  dest: z.string().regex(/^\/./, { message: 'must be an absolute path on the node' }),
  mode: z.string().regex(/^[0-7]{3,4}$/, { message: 'must be an octal mode like "0644"' }).default('0644'),
  owner: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
};

/** Playbook arguments: `copy: { src, dest, mode, owner, group }`. */
export const copyArgs = z.strictObject({
  /** Relative to the cluster directory, or absolute. */
  src: z.string().min(1),
  ...fileArgs,
});
/** The arguments after defaults. */
export type CopyArgs = z.output<typeof copyArgs>;

/** Why: the pure rule behind check, shared with the transport's upload (remote-file.ts). */
export function decideUpload(dest: string, facts: FileFacts, local: { size: number; sha256?: string }, wanted: { mode: string; owner?: string; group?: string }): CheckResult<FileChange> {
  const plan = planUpload(dest, facts, local, wanted);
  if (plan.action === 'skip') return { changed: false, reason: plan.reason };
  return { changed: true, reason: plan.reason, plan };
}

/** A node never read has none of the files: each is sent whole. */
export const FRESH_UPLOAD: FileChange = { action: 'transfer', reason: 'upload (missing)' };

/** Relative sources are the cluster directory's (pki/ca.pem); absolute ones are used as they are. */
export function localSource(clusterDir: string, src: string): string {
  return isAbsolute(src) ? src : resolve(clusterDir, src);
}

/** Why: certificates, kubeconfigs and binaries reach the nodes through this module. */
export const copyModule = defineModule({
  name: 'copy',
  where: 'remote',
  summary: 'Upload a file from the cluster directory or the artifact cache (atomic, skipped when the sha256 matches)',
  args: copyArgs,
  async reads(ctx, args) {
    const { size } = await stat(localSource(ctx.run.clusterDir, args.src));
    return [{ path: args.dest, hashIfSize: size }];
  },
  async check(ctx, args): Promise<CheckResult<FileChange>> {
    const node = requireNode(ctx);
    const where = { node: node.name, step: ctx.step, task: ctx.task };
    const source = localSource(ctx.run.clusterDir, args.src);
    const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
      throw new TaskError(`the source file ${args.src} does not exist (${source}: ${error.code})`, where, {
        hint: 'It is made by an earlier step (pki, kubeconfigs, binaries); run that step first.',
      });
    });
    const facts = await readFileFacts(ctx, args.dest, { hashIfSize: info.size });
    try {
      return decideUpload(args.dest, facts, { size: info.size, sha256: facts.sha256 ? await (ctx.run.hashes ? ctx.run.hashes.sha256(source) : sha256File(source)) : undefined }, args);
    } catch (error) {
      throw new TaskError((error as Error).message, where);
    }
  },
  async apply(ctx, args, change) {
    const transport = await ctx.connect();
    // What check planned is carried out as planned: the node's file is not read a second time.
    const result = await transport.upload({ path: localSource(ctx.run.clusterDir, args.src) }, args.dest, { mode: args.mode, owner: args.owner, group: args.group, signal: ctx.signal, planned: change.plan ?? FRESH_UPLOAD });
    if (result.changed) noteUnitChange(ctx.scratch, args.dest);
    return result;
  },
  fresh(ctx, args) {
    // A new machine has none of the files: every copy uploads (its source is made by an earlier step).
    noteUnitChange(ctx.scratch, args.dest);
    return { changed: true, reason: `upload (missing) ${args.src} -> ${args.dest}`, plan: FRESH_UPLOAD };
  },
  describe(_ctx, args, plan) {
    return fileLines(args.src, args.dest, args, (plan ?? FRESH_UPLOAD).action);
  },
});
