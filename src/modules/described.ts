// What describe() returns: the commands of a plan as structured lines, shared by `explain` and
// `plan --diff` (which print them as text, describedText) and `--transcript` (which wraps them in
// ssh/scp in one place, src/cli/transcript.ts). Nothing reads hardway's own output back: where a
// line runs, what it uploads and what it feeds on stdin are fields, not markers in a string.
//
// - A bare string is a command typed where the task runs: in a root shell on the task's node for
//   remote modules, on the workstation (in the cluster directory) for local modules.
// - `{ command, workstation: true }` runs on the workstation even in a node's task (fetching files
//   before copying them, kubectl against the API).
// - `{ command, stdin }` is fed `stdin` through a quoted heredoc, so file content travels with the
//   command and a rendered unit is reproduced by hand. Only non-secret content goes there; secrets
//   stay files referenced by path.
// - `{ upload: { source, dest } }` copies the workstation file `source` to `dest` on the task's node.
// - `{ comment }` is a line for the reader.
import { shellQuote } from '../transport/shell.ts';

/** A command with its place or its input made explicit. */
export interface DescribedCommand {
  readonly command: string;
  /** Fed to the command through a heredoc. */
  readonly stdin?: string;
  /** Runs on the workstation, also in a node's task. */
  readonly workstation?: true;
}

/** One line of a description; a bare string is a command where the task runs. */
export type DescribedLine = string | DescribedCommand | { readonly comment: string } | { readonly upload: { readonly source: string; readonly dest: string } };

/** A line for the reader. */
export function comment(text: string): DescribedLine {
  return { comment: text.startsWith('#') ? text : `# ${text}` };
}

/** A command run on the workstation, in a node's task too. */
export function onWorkstation(command: string): DescribedCommand {
  return { command, workstation: true };
}

/** A command fed `content` on its standard input. */
export function withInput(command: string, content: string, options: { workstation?: true } = {}): DescribedCommand {
  return { command, stdin: content, ...options };
}

/** `cat > DEST` fed the file's content. */
export function writeFile(dest: string, content: string): DescribedCommand {
  return withInput(`cat > ${shellQuote(dest)}`, content);
}

/** The workstation file `source` copied to `dest` on the task's node. */
export function upload(source: string, dest: string): DescribedLine {
  return { upload: { source, dest } };
}

/** chmod (and chown when asked) of a file on the node. */
export function metadataLines(dest: string, wanted: { mode: string; owner?: string; group?: string }): string[] {
  const owner = wanted.owner !== undefined || wanted.group !== undefined ? `${wanted.owner ?? ''}${wanted.group !== undefined ? `:${wanted.group}` : ''}` : undefined;
  return [`chmod ${wanted.mode.padStart(4, '0')} ${shellQuote(dest)}`, ...(owner ? [`chown ${shellQuote(owner)} ${shellQuote(dest)}`] : [])];
}

/** An installed file as a person types it: the upload (unless only mode or owner differ), then chmod/chown. */
export function fileLines(source: string, dest: string, wanted: { mode: string; owner?: string; group?: string }, action: 'transfer' | 'metadata' = 'transfer'): DescribedLine[] {
  return [...(action === 'transfer' ? [upload(source, dest)] : []), ...metadataLines(dest, wanted)];
}

/** Why: the transcript and describedText share one reading of a line, with no string inspection. */
export type ClassifiedLine =
  | { kind: 'comment'; text: string }
  | { kind: 'upload'; source: string; dest: string }
  | { kind: 'command'; command: string; stdin?: string; workstation: boolean };

/** The line's kind, from its fields. */
export function classify(line: DescribedLine): ClassifiedLine {
  if (typeof line === 'string') return { kind: 'command', command: line, workstation: false };
  if ('comment' in line) return { kind: 'comment', text: line.comment };
  if ('upload' in line) return { kind: 'upload', ...line.upload };
  return { kind: 'command', command: line.command, ...(line.stdin !== undefined ? { stdin: line.stdin } : {}), workstation: line.workstation === true };
}

/** A delimiter that is not a line of the content. */
function heredocMarker(content: string): string {
  const lines = new Set(content.split('\n'));
  let marker = 'EOF';
  for (let n = 1; lines.has(marker); n++) marker = `EOF${n}`;
  return marker;
}

/**
 * Why: a command and its input as a person types them: the command (wrapped in `head -c -1` when
 * the content lacks a final newline, which a heredoc adds), the redirect, and the body up to the
 * delimiter. The transcript puts ssh between command and redirect; describedText joins them.
 */
export function heredocParts(command: string, content: string): { command: string; redirect: string; body: string } {
  if (content === '') return { command, redirect: '< /dev/null', body: '' };
  const marker = heredocMarker(content);
  if (content.endsWith('\n')) return { command, redirect: `<<'${marker}'`, body: `${content}${marker}` };
  return { command: `{ head -c -1 | ${command}; }`, redirect: `<<'${marker}'`, body: `${content}\n${marker}` };
}

/** The command fed `content` as one shell text (also what apply runs where the plan is one command). */
export function heredoc(command: string, content: string): string {
  const parts = heredocParts(command, content);
  return `${parts.command} ${parts.redirect}${parts.body ? `\n${parts.body}` : ''}`;
}

/** Where the text of an upload points: the task's node. */
export interface DescribedNode {
  readonly name: string;
  readonly user: string;
  readonly sshAddress: string;
}

/** `scp SRC USER@HOST:DEST`, the upload a person types. */
export function uploadText(source: string, dest: string, node: DescribedNode | undefined): string {
  return `scp ${shellQuote(source)} ${node?.user ?? 'root'}@${node?.sshAddress || node?.name || 'NODE'}:${shellQuote(dest)}`;
}

/**
 * Why: `explain` and `plan --diff` print a description as the lines a person types on one screen:
 * a `# on the workstation:` / `# on NODE:` comment marks where a node task's lines switch place.
 * Each returned string is one line, or a command with its heredoc.
 */
export function describedText(lines: readonly DescribedLine[], node: DescribedNode | undefined): string[] {
  const out: string[] = [];
  let onStation = false;
  for (const line of lines.map(classify)) {
    if (line.kind === 'comment') {
      out.push(line.text);
      continue;
    }
    const workstation = line.kind === 'command' && line.workstation;
    if (node && workstation !== onStation) out.push(workstation ? '# on the workstation:' : `# on ${node.name}:`);
    onStation = workstation;
    if (line.kind === 'upload') out.push(uploadText(line.source, line.dest, node));
    else out.push(line.stdin === undefined ? line.command : heredoc(line.command, line.stdin));
  }
  return out;
}
