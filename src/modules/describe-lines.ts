// The convention for the lines describe() returns, shared by `explain` (which prints them as they
// are) and `--transcript` (which wraps them in ssh/scp in one place, src/cli/transcript.ts):
//
// - A line runs where the current context says: on the task's node for remote modules, on the
//   workstation (in the cluster directory) for local modules.
// - `# on the workstation:` and `# on NODE:` (a node's name) switch the context for the lines after
//   them: a remote module fetching files first, a local module acting on the lb node.
// - On a node, `scp SRC USER@HOST:DEST` (uploadLine, describeUpload) copies the workstation file SRC
//   to DEST on that node; every other line is a command typed in a root shell on the node.
// - A line may hold a heredoc (`cat > FILE <<'EOF'` and the body): file content travels with the
//   command, so rendered units are reproduced by hand (the body may also follow as separate lines,
//   up to the delimiter line). Only non-secret content goes in a heredoc; secrets stay files
//   referenced by path.
// - Other `#` lines are comments.
import { shellQuote } from '../transport/shell.ts';

/** Switches the lines after it to the workstation. */
export const ON_WORKSTATION = '# on the workstation:';

/** Switches the lines after it to the node named `name`. */
export function onNode(name: string): string {
  return `# on ${name}:`;
}

/** Where a described line runs: the workstation, or a node by name. */
export type DescribedWhere = { kind: 'workstation' } | { kind: 'node'; node: string };

/** One classified line: a comment, a command (where it runs), or an upload to a node. */
export type DescribedLine =
  | { kind: 'comment'; text: string }
  | { kind: 'command'; where: DescribedWhere; command: string }
  | { kind: 'upload'; node: string; source: string; dest: string };

const SWITCH = /^# on ([A-Za-z0-9][A-Za-z0-9._-]*):$/;

const HEREDOC_START = /<<-?(?:'([A-Za-z0-9_]+)'|"([A-Za-z0-9_]+)"|([A-Za-z0-9_]+))$/;

/** A heredoc written as separate lines (`cat > f <<'EOF'`, the body, `EOF`) joined into one line. */
export function joinHeredocs(lines: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const start = line.includes('\n') ? undefined : HEREDOC_START.exec(line);
    const marker = start ? (start[1] ?? start[2] ?? start[3]!) : undefined;
    const end = marker === undefined ? -1 : lines.indexOf(marker, index + 1);
    if (end < 0) {
      joined.push(line);
      continue;
    }
    joined.push(lines.slice(index, end + 1).join('\n'));
    index = end;
  }
  return joined;
}

/** Why: the transcript needs each line's place; explain needs none of this and prints lines as they are. */
export function classifyLines(lines: readonly string[], start: DescribedWhere): DescribedLine[] {
  let where = start;
  const result: DescribedLine[] = [];
  for (const line of joinHeredocs(lines)) {
    if (line === ON_WORKSTATION) {
      where = { kind: 'workstation' };
      continue;
    }
    const switched = SWITCH.exec(line);
    if (switched) {
      where = { kind: 'node', node: switched[1]! };
      continue;
    }
    if (line.startsWith('#') && !line.includes('\n')) {
      result.push({ kind: 'comment', text: line });
      continue;
    }
    const upload = where.kind === 'node' ? parseUpload(line) : undefined;
    if (upload && where.kind === 'node') result.push({ kind: 'upload', node: where.node, ...upload });
    else result.push({ kind: 'command', where, command: line });
  }
  return result;
}

/** `scp SRC USER@HOST:DEST` with both paths quoted by shellQuote; anything else is not an upload. */
export function parseUpload(line: string): { source: string; dest: string } | undefined {
  if (!line.startsWith('scp ') || line.includes('\n')) return undefined;
  const words = shellWords(line.slice(4));
  if (!words || words.length !== 2) return undefined;
  const [source, target] = words as [string, string];
  const at = target.indexOf('@');
  if (at < 0) return undefined;
  const hostEnd = target[at + 1] === '[' ? target.indexOf(']:', at) + 1 : target.indexOf(':', at);
  if (hostEnd <= at) return undefined;
  const dest = target.slice(hostEnd + 1);
  return dest ? { source, dest } : undefined;
}

/** Split words written by shellQuote (bare safe words and '...' with '\'' escapes); undefined on anything else. */
export function shellWords(text: string): string[] | undefined {
  const words: string[] = [];
  let index = 0;
  while (index < text.length) {
    while (text[index] === ' ') index++;
    if (index >= text.length) break;
    let word = '';
    while (index < text.length && text[index] !== ' ') {
      const char = text[index]!;
      if (char === "'") {
        const close = text.indexOf("'", index + 1);
        if (close < 0) return undefined;
        word += text.slice(index + 1, close);
        index = close + 1;
      } else if (char === '\\' && index + 1 < text.length) {
        word += text[index + 1];
        index += 2;
      } else if (/[A-Za-z0-9_@%+=:,./\-[\]]/.test(char)) {
        word += char;
        index++;
      } else {
        return undefined;
      }
    }
    words.push(word);
  }
  return words;
}

/** The upload line a person types: the workstation file to DEST on the node. */
export function uploadLine(source: string, dest: string, target: { user: string; host: string }): string {
  return `scp ${shellQuote(source)} ${target.user}@${target.host}:${shellQuote(dest)}`;
}

/** A delimiter that is not a line of the content. */
function heredocMarker(content: string): string {
  const lines = new Set(content.split('\n'));
  let marker = 'EOF';
  for (let n = 1; lines.has(marker); n++) marker = `EOF${n}`;
  return marker;
}

/**
 * Why: a rendered unit reproduced exactly by hand, with the content in the script a person reads.
 * `command` reads stdin (`cat > FILE`); the newline a heredoc adds to content without one is cut by `head -c -1`.
 */
export function heredoc(command: string, content: string): string {
  const marker = heredocMarker(content);
  if (content === '') return `${command} < /dev/null`;
  if (content.endsWith('\n')) return `${command} <<'${marker}'\n${content}${marker}`;
  return `{ head -c -1 | ${command}; } <<'${marker}'\n${content}\n${marker}`;
}

/** `cat > DEST` fed by a heredoc with the file's content. */
export function writeFileLine(dest: string, content: string): string {
  return heredoc(`cat > ${shellQuote(dest)}`, content);
}

/** A heredoc line split into its command and the text fed to it, or undefined when it has none. */
export function splitHeredoc(line: string): { command: string; redirect: string; rest: string } | undefined {
  const newline = line.indexOf('\n');
  if (newline < 0) return undefined;
  const first = line.slice(0, newline);
  const match = /^(.*\S) (<<-?(?:'([A-Za-z0-9_]+)'|([A-Za-z0-9_]+)))$/.exec(first);
  if (!match) return undefined;
  const marker = match[3] ?? match[4]!;
  const rest = line.slice(newline + 1);
  // The body must end with the marker line and hold no other heredoc-terminating line before it.
  const lines = rest.split('\n');
  if (lines[lines.length - 1] !== marker || lines.slice(0, -1).includes(marker)) return undefined;
  return { command: match[1]!, redirect: match[2]!, rest };
}

/** chmod (and chown when asked) of a file on the node, as describeUpload prints them. */
export function metadataLines(dest: string, wanted: { mode: string; owner?: string; group?: string }): string[] {
  const owner = wanted.owner !== undefined || wanted.group !== undefined ? `${wanted.owner ?? ''}${wanted.group !== undefined ? `:${wanted.group}` : ''}` : undefined;
  return [`chmod ${wanted.mode.padStart(4, '0')} ${shellQuote(dest)}`, ...(owner ? [`chown ${shellQuote(owner)} ${shellQuote(dest)}`] : [])];
}
