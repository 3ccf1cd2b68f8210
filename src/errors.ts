// Error classes shared by every layer. Each carries the exit code the CLI maps it to (DESIGN §1),
// plus where it happened, so the CLI can print one clear paragraph without a stack trace.

export interface ErrorWhere {
  file?: string;
  line?: number;
  field?: string;
  node?: string;
  step?: string;
  task?: string;
}

/** Why: one base lets the CLI turn any known failure into its exit code and a hint. */
export class HardwayError extends Error {
  readonly exitCode: number;
  readonly where: ErrorWhere;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: number; where?: ErrorWhere; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
    this.where = options.where ?? {};
    this.hint = options.hint;
  }
}

/** Why: bad flags or arguments are the user's to fix; exit 2. */
export class UsageError extends HardwayError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** Why: an invalid cluster.yaml, playbook or PKI input file; exit 2 with file, line and field. */
export class SpecError extends HardwayError {
  constructor(message: string, where: ErrorWhere = {}, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, where, exitCode: 2 });
  }
}

/**
 * Why: a local file or path hardway reads or writes (cluster.yaml, pki/, known_hosts, --out) that
 * is not what it must be: missing, a directory, a FIFO, a link out of the cluster directory, too
 * large or malformed. Exit 2, naming the path; the user fixes or moves the file.
 */
export class FileError extends HardwayError {
  constructor(message: string, file: string, options: { line?: number; field?: string; hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, { exitCode: options.exitCode ?? 2, where: { file, line: options.line, field: options.field }, hint: options.hint, cause: options.cause });
  }
}

/** Why: something the machine lacks (root, a package, credentials); exit 3 says what to install. */
export class PrerequisiteError extends HardwayError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 3 });
  }
}

/** Why: a task failed on a node; exit 1 with the step, node and task named. */
export class TaskError extends HardwayError {
  constructor(message: string, where: ErrorWhere, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, where, exitCode: 1 });
  }
}

/** Prefix a message with where it happened: `cluster.yaml:12 nodes.etcd.count: ...`. */
export function formatWhere(where: ErrorWhere): string {
  const parts: string[] = [];
  if (where.file) parts.push(where.line ? `${where.file}:${where.line}` : where.file);
  if (where.field) parts.push(where.field);
  const run: string[] = [];
  if (where.step) run.push(`step ${where.step}`);
  if (where.node) run.push(`node ${where.node}`);
  if (where.task) run.push(`task "${where.task}"`);
  if (run.length) parts.push(`[${run.join(', ')}]`);
  return parts.join(' ');
}

/** Why: a command that already printed its outcome (a recap with failures) only sets the exit code. */
export class AlreadyReported extends HardwayError {
  constructor(exitCode: number) {
    super('', { exitCode });
  }
}
