// Finds every `hardway ...` command line quoted in a Markdown file (fenced blocks and inline code)
// and splits it into words the way a shell would, so the docs test can check each command and flag
// against the real CLI's --help.

export interface QuotedCommand {
  file: string;
  line: number;
  /** The command line as written, after prompts and `sudo`/`npx` were removed. */
  text: string;
  /** Words after `hardway`, up to the end of the command (a pipe, `&&`, `;`, a redirect or a comment). */
  words: string[];
}

/** Why: docs show commands behind prompts and wrappers; these prefixes are not part of hardway's argv. */
const WRAPPERS = /^(?:\$\s+|sudo(?:\s+-E)?\s+|npx(?:\s+--yes|\s+-y)?\s+|env\s+|[A-Z_][A-Z0-9_]*=\S*\s+)+/;
const INVOCATION = /^(?:hardway|node\s+bin\/hardway\.js)(?=\s|$)/;

/** Shell-like words of one line; stops at an unquoted `|`, `&`, `;`, `<`, `>` or a `#` comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && index + 1 < line.length) current += line[++index];
      else current += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
      continue;
    }
    if (char === '\\' && index + 1 < line.length) {
      current += line[++index];
      inWord = true;
      continue;
    }
    if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    if ('|&;<>'.includes(char) || (char === '#' && !inWord)) break;
    current += char;
    inWord = true;
  }
  if (inWord) words.push(current);
  return words;
}

/** The hardway argv of a line, or undefined when the line does not run hardway. */
export function hardwayWords(line: string): { text: string; words: string[] } | undefined {
  const text = line.trim().replace(WRAPPERS, '');
  const invocation = INVOCATION.exec(text);
  if (!invocation) return undefined;
  return { text, words: shellWords(text.slice(invocation[0].length)) };
}

/** Fenced blocks that hold commands; in `console` blocks only the `$ ` lines are commands. */
const SHELL_FENCES = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * Every hardway command line of a Markdown document, with its line number: inline code, and lines
 * of ```sh/bash/shell blocks and `$ ` lines of ```console blocks. Other blocks (```text, untagged)
 * hold output, file trees or figures, and are not read as commands.
 */
export function quotedCommands(file: string, markdown: string): QuotedCommand[] {
  const found: QuotedCommand[] = [];
  const lines = markdown.split('\n');
  let fence: string | undefined;
  let language = '';
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!;
    const fenceMatch = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(raw);
    if (fenceMatch) {
      if (!fence) {
        fence = fenceMatch[1];
        language = fenceMatch[2] ?? '';
      } else if (raw.trim().startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence) {
      if (!SHELL_FENCES.has(language) || (language === 'console' && !raw.startsWith('$ '))) continue;
      // A command continued with a trailing backslash is one command.
      let joined = raw;
      const start = index;
      while (joined.endsWith('\\') && index + 1 < lines.length) joined = `${joined.slice(0, -1)} ${lines[++index]!.trim()}`;
      const parsed = hardwayWords(joined);
      if (parsed) found.push({ file, line: start + 1, ...parsed });
      continue;
    }
    for (const span of raw.matchAll(/(`+)([^`]+?)\1/g)) {
      const parsed = hardwayWords(span[2]!);
      if (parsed) found.push({ file, line: index + 1, ...parsed });
    }
  }
  return found;
}
