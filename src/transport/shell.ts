// Quoting for the POSIX shell that runs remote commands and for the lines `describe` prints.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Why: paths and arguments reach `sh -c` on the node; quoting keeps them one word, never code. */
export function shellQuote(value: string): string {
  if (value !== '' && SAFE.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quote each word and join them into one command line. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
