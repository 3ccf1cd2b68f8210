// The CLI's surface as its users see it: commands, subcommands and flags read from the real
// `node bin/hardway.js [command...] --help` output, and the check of a quoted command against it.
import { hardway } from '../helpers/cli.ts';

export interface HelpPage {
  /** Flags listed under "Options:" (long and short forms), and whether each takes a value. */
  options: Map<string, boolean>;
  /** Names listed under "Commands:". */
  commands: Set<string>;
}

/** Parse commander's help text: option lines and command lines start with two spaces. */
export function parseHelp(text: string): HelpPage {
  const page: HelpPage = { options: new Map(), commands: new Set() };
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^(\w[\w ]*):\s*$/.exec(line);
    if (heading) {
      section = heading[1]!;
      continue;
    }
    if (!/^ {2}\S/.test(line)) continue;
    if (section === 'Options') {
      const match = /^ {2}((?:-[A-Za-z], )?--[a-z0-9-]+|-[A-Za-z])( [<[])?/.exec(line);
      for (const flag of match?.[1]?.split(', ') ?? []) page.options.set(flag, Boolean(match?.[2]));
    }
    if (section === 'Commands') {
      const name = /^ {2}([a-z][a-z0-9-]*)/.exec(line)?.[1];
      if (name) page.commands.add(name);
    }
  }
  return page;
}

/** Why: help pages are read once per command path and shared by every quoted command. */
export class HelpPages {
  readonly #cache = new Map<string, Promise<HelpPage>>();

  page(path: readonly string[]): Promise<HelpPage> {
    const key = path.join(' ');
    let page = this.#cache.get(key);
    if (!page) {
      page = hardway([...path, '--help']).then((result) => {
        if (result.code !== 0) throw new Error(`hardway ${key} --help exited with ${result.code}: ${result.stderr}`);
        return parseHelp(result.stdout);
      });
      this.#cache.set(key, page);
    }
    return page;
  }
}

/** Placeholders in prose (`[--node N]`, `NODE...`) are written around real words; strip them. */
function bare(word: string): string {
  return word.replace(/^\[+/, '').replace(/(\]|\.\.\.)+$/, '');
}

/**
 * What is wrong with one quoted command: an unknown command or subcommand, or a flag that neither
 * the command nor the program accepts. Empty when the command is real.
 */
export async function problemsWith(words: readonly string[], help: HelpPages): Promise<string[]> {
  const root = await help.page([]);
  const problems: string[] = [];
  const path: string[] = [];
  let page = root;
  let skipValue = false;
  for (const raw of words) {
    const word = bare(raw);
    if (!word) continue; // a bare placeholder: `hardway ...`
    if (skipValue) {
      skipValue = false;
      continue;
    }
    if (word === '--') break; // what follows is for another program (hardway ssh NODE -- CMD)
    if (word.startsWith('-')) {
      const [flag, inlineValue] = word.split('=') as [string, string | undefined];
      const takesValue = page.options.get(flag) ?? root.options.get(flag);
      if (takesValue === undefined) problems.push(`unknown flag ${flag} for "hardway${path.map((part) => ` ${part}`).join('')}"`);
      skipValue = takesValue === true && inlineValue === undefined;
      continue;
    }
    // A command with subcommands (the program, `pki`) takes one of them as its next bare word.
    if (page.commands.size) {
      if (!page.commands.has(word)) {
        problems.push(`unknown ${path.length ? `subcommand of "hardway ${path.join(' ')}"` : 'command'} "${word}" (known: ${[...page.commands].join(', ')})`);
        return problems;
      }
      path.push(word);
      page = await help.page(path);
    }
  }
  return problems;
}
