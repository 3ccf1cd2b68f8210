// Reads cluster.yaml (or any YAML input) and validates it with zod, reporting every problem as
// `file:line field: message`, the way a person fixes a file: by going to the line.
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { FileError, SpecError } from '../errors.ts';
import { readLocalFile } from '../util/local-file.ts';
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

/** A cluster.yaml is a few kilobytes; this is far above any real one. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** Aliases a spec may use (`<<: *defaults`); a billion-laughs document needs far more. */
export const MAX_ALIAS_COUNT = 100;

/** Why: YAML syntax errors and duplicate keys must name their line too, before any schema runs. */
export function parseYaml(text: string, file: string): LocatedYaml {
  const lineCounter = new LineCounter();
  let document: Document;
  try {
    document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new SpecProblems([{ file, line: undefined, field: '', message: `invalid YAML: ${yamlLimitMessage(error)}` }]);
  }
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
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    throw new SpecProblems([{ file, line: undefined, field: '', message: `invalid YAML: ${yamlLimitMessage(error)}` }]);
  }
  return { file, value, lineOf: (path) => lineOfPath(document, lineCounter, path) };
}

/** Why: the yaml package's resource limits throw; a user must read what to change, not a ReferenceError. */
function yamlLimitMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/alias/i.test(message)) return `too many aliases (at most ${MAX_ALIAS_COUNT} expansions; a document that expands without bound is refused)`;
  if (error instanceof RangeError) return 'nested too deeply';
  return message.split('\n')[0] ?? message;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The JSON type name a person recognizes: "string", "number", "array", "null". */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'mapping';
  return typeof value;
}

/** Why: "expected number, got string" tells the user what to write; zod's wording does not always. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'object' ? 'a mapping' : issue.expected;
    if (issue.input === undefined) return `is required (expected ${expected})`;
    return `expected ${expected}, got ${typeName(issue.input)}`;
  }
  return issue.message;
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
    // Callers that parsed without `reportInput` still get "expected X, got Y": the value is looked up.
    const withInput = issue.code === 'invalid_type' && issue.input === undefined ? { ...issue, input: valueAt(located.value, issue.path) } : issue;
    problems.push({ file: located.file, line: located.lineOf(issue.path), field: fieldPath(issue.path), message: issueMessage(withInput) });
  }
  return problems;
}

/** Validate a located YAML value against a schema, throwing every problem at once. */
export function validateWith<T extends z.ZodType>(schema: T, located: LocatedYaml): z.output<T> {
  // reportInput: an invalid_type issue then says what it got, and "is required" only when absent.
  const result = schema.safeParse(located.value ?? {}, { reportInput: true });
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
    text = await readLocalFile(file, { display: displayName, maxBytes: MAX_SPEC_BYTES, hint: 'Pass -c PATH to a cluster.yaml (a regular file); `hardway init --provider lab` writes one.' });
  } catch (error) {
    const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') {
      throw new SpecError(`${displayName}: no such file`, { file: displayName }, { hint: 'Create one with `hardway init --provider lab`, or pass -c PATH.', cause: error });
    }
    throw error instanceof FileError ? error : new SpecError(`${displayName}: cannot read (${(error as Error).message})`, { file: displayName }, { cause: error });
  }
  if (text.includes('\u0000')) throw new SpecError(`${displayName}: is not a text file (it contains NUL bytes)`, { file: displayName }, { hint: 'Pass -c PATH to a cluster.yaml.' });
  return parseSpecText(text, displayName);
}

export function parseSpecText(text: string, file: string): LoadedSpec {
  const located = parseYaml(text, file);
  const spec = validateWith(clusterSpecSchema, located);
  return { spec, file, located };
}
