// Reads cluster.yaml (or any YAML input) and validates it with zod, reporting every problem as
// `file:line field: message`, the way a person fixes a file: by going to the line.
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { SpecError } from '../errors.ts';
import { clusterSpecSchema, type ClusterSpec } from './schema.ts';

export interface Problem {
  file: string;
  line: number | undefined;
  field: string;
  message: string;
}

/** Why: one error can carry every problem of the file, so a user fixes them all in one pass. */
export class SpecProblems extends SpecError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'), {
      file: problems[0]?.file,
      line: problems[0]?.line,
      field: problems[0]?.field,
    });
    this.problems = problems;
  }

  /** Problems sorted by line, as a reader goes through the file. */
  static sorted(problems: Problem[]): SpecProblems {
    return new SpecProblems([...problems].sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file.localeCompare(b.file))));
  }
}

export function formatProblem(problem: Problem): string {
  const at = problem.line ? `${problem.file}:${problem.line}` : problem.file;
  return problem.field ? `${at} ${problem.field}: ${problem.message}` : `${at}: ${problem.message}`;
}

/** A parsed YAML file that can say on which line any field path sits. */
export interface LocatedYaml {
  file: string;
  value: unknown;
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/** Why: YAML syntax errors and duplicate keys must name their line too, before any schema runs. */
export function parseYaml(text: string, file: string): LocatedYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length) {
    throw new SpecProblems(
      document.errors.map((error) => ({
        file,
        line: error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line,
        field: '',
        message: `invalid YAML: ${error.message.split('\n')[0]}`,
      })),
    );
  }
  return { file, value: document.toJS(), lineOf: (path) => lineOfPath(document, lineCounter, path) };
}

function lineOfPath(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = document.contents;
  let line = startLine(node, lineCounter);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(key));
      if (!pair) return line;
      line = startLine(pair.key, lineCounter) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      line = startLine(node, lineCounter) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function keyText(key: unknown): string {
  return key && typeof key === 'object' && 'value' in key ? String((key as { value: unknown }).value) : String(key);
}

function startLine(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as YamlNode | undefined)?.range;
  return range ? lineCounter.linePos(range[0]).line : undefined;
}

export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`)).join('');
}

/** Why: turns zod's issues into located problems; unknown keys point at the key itself. */
export function problemsFromIssues(located: LocatedYaml, issues: readonly z.core.$ZodIssue[]): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.push({ file: located.file, line: located.lineOf(path), field: fieldPath(path), message: 'unknown key (check the spelling; see `hardway init` for every field)' });
      }
      continue;
    }
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    problems.push({ file: located.file, line: located.lineOf(issue.path), field: fieldPath(issue.path), message });
  }
  return problems;
}

/** Validate a located YAML value against a schema, throwing every problem at once. */
export function validateWith<T extends z.ZodType>(schema: T, located: LocatedYaml): z.output<T> {
  const result = schema.safeParse(located.value ?? {});
  if (!result.success) throw SpecProblems.sorted(problemsFromIssues(located, result.error.issues));
  return result.data;
}

export interface LoadedSpec {
  spec: ClusterSpec;
  file: string;
  located: LocatedYaml;
}

/** Read and validate a cluster.yaml against the schema; errors name the file as the user gave it. */
export async function loadSpecFile(file: string, displayName = file): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpecError(code === 'ENOENT' ? `${displayName}: no such file` : `${displayName}: cannot read (${code})`, { file: displayName }, {
      hint: code === 'ENOENT' ? 'Create one with `hardway init --provider lab`, or pass -c PATH.' : undefined,
      cause: error,
    });
  }
  return parseSpecText(text, displayName);
}

export function parseSpecText(text: string, file: string): LoadedSpec {
  const located = parseYaml(text, file);
  const spec = validateWith(clusterSpecSchema, located);
  return { spec, file, located };
}
