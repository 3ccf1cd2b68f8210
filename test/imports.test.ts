// The shape of src/ as its imports draw it: no file depends on itself through others (type imports
// included: a cycle of types is still two files that must be read together), and each SDK has one
// importer (DESIGN's "one importer per SDK").
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `import ... from '...'` and `export ... from '...'` of a file, and each `import('...')` or `require('...')`. */
function specifiers(text: string): string[] {
  const found = [...text.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'/gm)].map((match) => match[1]!);
  found.push(...[...text.matchAll(/(?:import|require)\(\s*'([^']+)'\s*\)/g)].map((match) => match[1]!));
  return found;
}

const files = sourceFiles(root);
const imports = new Map(files.map((file) => [file, specifiers(readFileSync(file, 'utf8'))]));

/** Strongly connected groups of more than one file (Tarjan). */
function cycles(): string[][] {
  const graph = new Map(files.map((file) => [file, (imports.get(file) ?? []).filter((spec) => spec.startsWith('.')).map((spec) => resolve(dirname(file), spec)).filter((target) => imports.has(target))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(relative(root, member));
    } while (member !== file);
    if (group.length > 1) groups.push(group.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return groups;
}

describe('src/ imports', () => {
  it('has no import cycle, type imports included', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(cycles()).toEqual([]);
  });

  it('imports each SDK from one directory only', () => {
    const owners: [RegExp, string][] = [
      [/^@aws-sdk\//, 'providers/aws/'],
      [/^ssh2$/, 'transport/'],
      [/^node-forge$/, 'pki/'],
      [/^listr2$/, 'engine/'],
    ];
    const strays: string[] = [];
    for (const [file, specs] of imports) {
      for (const spec of specs) {
        for (const [pattern, owner] of owners) {
          if (pattern.test(spec) && !relative(root, file).startsWith(owner)) strays.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(strays).toEqual([]);
  });
});
