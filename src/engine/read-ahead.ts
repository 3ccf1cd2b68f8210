// Facts read ahead: before a node runs a phase of a step, the read-only commands its tasks' checks
// will run (file facts, unit states, the hostname) go to the node in one exec, and each check takes
// its answer from there instead of a round trip of its own. A no-op step then costs a node about
// one round trip, whatever its number of tasks (issue 17). The answers are this node's, for this
// run: the first task that applies anything drops them all, so a check never sees a fact older
// than the last change it could depend on. Dry runs read live (plan is not about speed, and a new
// machine must not be contacted).
import { randomBytes } from 'node:crypto';
import { fileFactsCommand } from '../transport/remote-file.ts';
import { shellQuote } from '../transport/shell.ts';
import type { Node } from '../inventory/node.ts';
import type { NodeScratch, RunContext, TaskContext, FileRead } from '../modules/module.ts';
import type { PlaybookTask } from './playbook.ts';
import { interpolate, templateVars } from './vars.ts';
import { conditionUnmet } from './when.ts';

/** The answers read ahead for one node: command -> its stdout (only commands that exited 0). */
export type ReadAhead = Map<string, string>;

/** Files larger than this are hashed only by their own command, when their size matches. */
const BATCH_HASH_LIMIT = 4 * 1024 * 1024;

/** One command for the facts of many files: their absence, one stat of all, one sha256sum of the small ones. */
export function fileReadsCommand(files: readonly FileRead[]): string {
  const paths = files.map((file) => shellQuote(file.path)).join(' ');
  const hashed = files.filter((file) => file.hashIfSize !== undefined).map((file) => shellQuote(file.path));
  return [
    `set --; for p in ${paths}; do if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; elif [ -d "\${p%/*}/" ]; then printf 'missing|%s\\n' "$p"; else printf 'nodir|%s\\n' "$p"; fi; done`,
    `[ $# -eq 0 ] || stat -c 'present|%F|%s|%a|%U|%G|%n' -- "$@"`,
    `echo '::sha256'`,
    ...(hashed.length ? [`for p in ${hashed.join(' ')}; do [ -f "$p" ] && sha256sum -- "$p"; done 2>/dev/null`] : []),
    'true',
  ].join('; ');
}

/** fileReadsCommand's output as the answers each file's own fileFactsCommand would have given. */
export function parseFileReads(files: readonly FileRead[], stdout: string): ReadAhead {
  const [listing = '', hashes = ''] = stdout.split('::sha256\n');
  const facts = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const match = /^(missing|nodir)\|(.*)$/.exec(line);
    if (match) facts.set(match[2]!, match[1]!);
    const present = /^present\|([^|]*)\|(\d+)\|([0-7]+)\|([^|]*)\|([^|]*)\|(.*)$/.exec(line);
    if (present) facts.set(present[6]!, line.slice(0, line.length - present[6]!.length - 1));
  }
  const sums = new Map<string, string>();
  for (const line of hashes.split('\n')) {
    const match = /^([0-9a-f]{64}) {2}(.*)$/.exec(line);
    if (match) sums.set(match[2]!, match[1]!);
  }
  const answers: ReadAhead = new Map();
  for (const file of files) {
    const found = facts.get(file.path);
    if (found === undefined) continue;
    const command = fileFactsCommand(file.path, file.hashIfSize === undefined ? {} : { hashIfSize: file.hashIfSize });
    if (found === 'missing' || found === 'nodir') {
      answers.set(command, `${found}\n`);
      continue;
    }
    const [, type, size] = found.split('|');
    const wantsHash = file.hashIfSize !== undefined && (type === 'regular file' || type === 'regular empty file') && Number(size) === file.hashIfSize;
    const sum = sums.get(file.path);
    if (wantsHash && !sum) continue;
    answers.set(command, `${found}\n${wantsHash ? `${sum}  ${file.path}\n` : ''}`);
  }
  return answers;
}

/** One exec that runs every command in its own subshell and marks where each answer starts and ends. */
export function readAheadCommand(commands: readonly string[], token: string): string {
  return commands.map((command, index) => `printf '::${token} %d\\n' ${index}; ( ${command}\n); printf '\\n::${token}-end %d %d\\n' ${index} $?`).join('; ');
}

/** The answers of readAheadCommand's output: those that exited 0 (a failing one is run again live, for its error). */
export function parseReadAhead(commands: readonly string[], token: string, stdout: string): ReadAhead {
  const answers: ReadAhead = new Map();
  let cursor = 0;
  for (const [index, command] of commands.entries()) {
    const begin = `::${token} ${index}\n`;
    const start = stdout.indexOf(begin, cursor);
    if (start < 0) break;
    const endMarker = new RegExp(`\\n::${token}-end ${index} (\\d+)\\n`, 'g');
    endMarker.lastIndex = start + begin.length;
    const end = endMarker.exec(stdout);
    if (!end) break;
    if (end[1] === '0') answers.set(command, stdout.slice(start + begin.length, end.index));
    cursor = end.index + end[0].length;
  }
  return answers;
}

/** A task whose reads may be gathered, with the step it belongs to (its context names it). */
export interface StepTask {
  step: string;
  task: PlaybookTask;
}

/** The reads wanted: plain commands, and files batched into one command. */
interface Wanted {
  commands: Set<string>;
  files: Map<string, FileRead>;
}

/** The cache key a file's own check looks up (parseFileReads answers under it). */
function fileKey(read: FileRead): string {
  return fileFactsCommand(read.path, read.hashIfSize === undefined ? {} : { hashIfSize: read.hashIfSize });
}

function dropAnswered(wanted: Wanted, cached: ReadAhead): void {
  for (const command of wanted.commands) if (cached.has(command)) wanted.commands.delete(command);
  for (const [key, read] of wanted.files) if (cached.has(fileKey(read))) wanted.files.delete(key);
}

async function collectReads(run: RunContext, tasks: readonly StepTask[], node: Node, context: (step: string, task: PlaybookTask, vars: Record<string, unknown>) => TaskContext, into: Wanted): Promise<void> {
  for (const { step, task } of tasks) {
    const module = run.modules.get(task.module);
    if (!module?.reads || conditionUnmet(task.when, run)) continue;
    try {
      const vars = templateVars(run, node);
      const parsed = module.args.safeParse(interpolate(task.args, vars));
      if (!parsed.success) continue;
      for (const read of await module.reads(context(step, task, vars), parsed.data)) {
        if (typeof read === 'string') into.commands.add(read);
        else if ((read.hashIfSize ?? 0) > BATCH_HASH_LIMIT) into.commands.add(fileFactsCommand(read.path, { hashIfSize: read.hashIfSize }));
        else into.files.set(`${read.path}\0${read.hashIfSize ?? ''}`, read);
      }
    } catch {
      // The task's own check reports what is wrong with it.
    }
  }
}

export interface ReadAheadInput {
  run: RunContext;
  node: Node;
  scratch: NodeScratch;
  /** The phase about to run on the node. */
  phase: readonly StepTask[];
  /** The node's tasks in the phases and steps after it: read too while nothing has changed on the node this run. */
  later: readonly StepTask[];
  context: (step: string, task: PlaybookTask, vars: Record<string, unknown>) => TaskContext;
}

/**
 * Why: a no-op run should cost a node one round trip, not one per task or per step. Before a
 * phase, the node's checks for it are answered from what was read ahead; what is missing is read
 * in one exec. While nothing has been applied on the node this run, that exec also reads for the
 * node's later phases and steps, so a converged node is read once for the whole run. After a
 * change (execute.ts drops the answers) only the phase at hand is read ahead, so a big file that
 * is about to be replaced is not hashed again phase after phase. Any failure only means the
 * checks read live.
 */
export async function readAhead(input: ReadAheadInput): Promise<void> {
  const { run, node, scratch } = input;
  if (run.options.dryRun) {
    scratch.readAhead = undefined;
    return;
  }
  const wanted: Wanted = { commands: new Set(), files: new Map() };
  await collectReads(run, input.phase, node, input.context, wanted);
  const cached = scratch.readAhead;
  if (cached) {
    dropAnswered(wanted, cached);
    if (!wanted.commands.size && !wanted.files.size) return;
  }
  if (!scratch.appliedThisRun) {
    await collectReads(run, input.later, node, input.context, wanted);
    if (cached) dropAnswered(wanted, cached);
  }
  const fileList = [...wanted.files.values()];
  const filesCommand = fileList.length ? fileReadsCommand(fileList) : undefined;
  const commands = new Set(wanted.commands);
  if (filesCommand) commands.add(filesCommand);
  if (commands.size < 2 && !fileList.length) return;
  const list = [...commands];
  const token = `hardway-read-${randomBytes(4).toString('hex')}`;
  try {
    const transport = await run.transports.get(node, run.signal);
    const result = await transport.exec(readAheadCommand(list, token), { check: false, signal: run.signal });
    const answers = parseReadAhead(list, token, result.stdout);
    const filesAnswer = filesCommand === undefined ? undefined : answers.get(filesCommand);
    if (filesCommand !== undefined) answers.delete(filesCommand);
    if (filesAnswer !== undefined) for (const [command, answer] of parseFileReads(fileList, filesAnswer)) answers.set(command, answer);
    if (cached) for (const [command, answer] of answers) cached.set(command, answer);
    else scratch.readAhead = answers;
  } catch {
    // Unreachable or interrupted: the checks connect and fail (or succeed) on their own.
  }
}
