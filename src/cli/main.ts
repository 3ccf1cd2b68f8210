// Entry point: parses argv with commander, runs the command, and maps every failure to one clear
// paragraph and an exit code (DESIGN §1): 0 ok, 1 a task failed, 2 bad usage or spec, 3 missing
// prerequisite. Stack traces only with --verbose.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { AlreadyReported, formatWhere, HardwayError } from '../errors.ts';
import { fileErrorFrom } from '../util/local-file.ts';
import { projectRoot, type CliIO } from './common.ts';

export function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stdout.isTTY),
    env: process.env,
  };
}

function version(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

type Register = (program: Command, io: CliIO) => void;

/**
 * The commands, in `--help` order, each loaded only when needed: `hardway validate` loads the
 * spec and playbook code, not the transport, PKI and providers the other commands use
 * (bench/startup.ts measures the difference).
 */
const COMMANDS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['init'], load: async () => (await import('./init.ts')).registerInitCommand },
  { names: ['validate'], load: async () => (await import('./validate.ts')).registerValidateCommand },
  { names: ['plan'], load: async () => (await import('./plan.ts')).registerPlanCommand },
  { names: ['provision', 'up'], load: async () => (await import('./provision.ts')).registerProvisionCommands },
  { names: ['rebuild'], load: async () => (await import('./rebuild.ts')).registerRebuildCommand },
  { names: ['backup', 'restore'], load: async () => (await import('./backup.ts')).registerBackupCommands },
  { names: ['explain'], load: async () => (await import('./explain.ts')).registerExplainCommand },
  { names: ['destroy'], load: async () => (await import('./destroy.ts')).registerDestroyCommand },
  { names: ['pki'], load: async () => (await import('./pki.ts')).registerPkiCommand },
  { names: ['ssh'], load: async () => (await import('./ssh.ts')).registerSshCommand },
  { names: ['status'], load: async () => (await import('./status.ts')).registerStatusCommand },
  { names: ['smoke'], load: async () => (await import('./smoke.ts')).registerSmokeCommand },
  { names: ['kubeconfig'], load: async () => (await import('./kubeconfig.ts')).registerKubeconfigCommand },
];

/** The global options that take a value: the word after them is not the command. */
const VALUED_GLOBALS = new Set(['-c', '--config', '--concurrency']);

/** The command an argv names (`hardway -c x.yaml plan` -> plan), or undefined (help, a typo). */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let index = 2; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') return undefined;
    if (VALUED_GLOBALS.has(arg)) index++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Why: tests and bin/hardway.js share one program definition. Given the argv, only the command
 * it names is loaded; without one (help, an unknown command) every command is.
 */
export async function buildProgram(io: CliIO, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('hardway')
    .description('Build a Kubernetes control plane the hard way: raw machines, a CA, etcd and the control plane as systemd units over SSH.')
    .version(version(), '-V, --version')
    .option('-c, --config <path>', 'the cluster spec', configPath, './cluster.yaml')
    .option('--verbose', 'full logs and stack traces', false)
    .option('--json', 'machine-readable output where the output is data', false)
    .addOption(new Option('--concurrency <n>', `nodes worked on at once (1-${MAX_CONCURRENCY})`).default(10).argParser(positiveInt('--concurrency', MAX_CONCURRENCY)))
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  hardway init mycluster --provider lab       write mycluster/cluster.yaml
  hardway validate -c mycluster/cluster.yaml  check the spec, connect nowhere
  hardway plan --step etcd --nodes etcd-0     what the etcd step does on etcd-0
  sudo hardway up                             build the whole cluster
Exit codes: 0 ok, 1 a task failed, 2 bad usage or invalid spec, 3 a missing prerequisite.`,
  );
  const wanted = commandWord(argv);
  const chosen = COMMANDS.filter((entry) => entry.names.includes(wanted ?? ''));
  for (const entry of chosen.length ? chosen : COMMANDS) (await entry.load())(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

/** More SSH sessions at once than this exhausts file descriptors and sshd's MaxStartups. */
export const MAX_CONCURRENCY = 256;

export function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const parsed = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(parsed) || parsed < 1) throw new CommanderError(2, 'hardway.invalidArgument', `${flag} must be a whole number >= 1, got "${value}"`);
    if (parsed > max) throw new CommanderError(2, 'hardway.invalidArgument', `${flag} must be at most ${max}, got "${value}"`);
    return parsed;
  };
}

/** Why: `-c ""` must not mean the current directory, and a path with a newline is no one's spec. */
function configPath(value: string): string {
  if (!value.trim()) throw new CommanderError(2, 'hardway.invalidArgument', '-c/--config needs a path to a cluster.yaml, got ""');
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new CommanderError(2, 'hardway.invalidArgument', '-c/--config: the path contains a newline or other control character');
  return value;
}

/** The exit code of a run ended by a signal, as shells report it: 128 + the signal number. */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Why: Ctrl-C must exit 130. Commands that hold a lock or nodes (provision, rebuild) add their own
 * handler that stops the run cleanly; then this one only remembers the signal, so the exit code is
 * 130 once they finish. Without such a handler (validate, plan, a confirmation prompt) it exits now.
 */
function watchSignals(io: CliIO): { signal: () => NodeJS.Signals | undefined; stop: () => void } {
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const first = received === undefined;
    received ??= signal;
    if (first && process.listenerCount(signal) > 1) return;
    if (first) io.stderr(`\ninterrupted (${signal})\n`);
    process.exit(SIGNAL_EXIT[signal] ?? 130);
  };
  const signals = Object.keys(SIGNAL_EXIT) as NodeJS.Signals[];
  for (const signal of signals) process.on(signal, handler);
  return { signal: () => received, stop: () => signals.forEach((signal) => process.off(signal, handler)) };
}

/** Run the CLI; returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const program = await buildProgram(io, argv);
  const verbose = argv.includes('--verbose');
  const signals = watchSignals(io);
  try {
    await program.parseAsync([...argv]);
    const signal = signals.signal();
    return signal ? (SIGNAL_EXIT[signal] ?? 130) : 0;
  } catch (error) {
    const code = reportError(error, io, verbose);
    const signal = signals.signal();
    return signal ? (SIGNAL_EXIT[signal] ?? 130) : code;
  } finally {
    signals.stop();
  }
}

/** Node's filesystem errors carry the path and a code; anything else is not about a file. */
function isFsError(error: unknown): error is NodeJS.ErrnoException & { path: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).path === 'string';
}

export function reportError(error: unknown, io: CliIO, verbose: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    // commander already printed its message for its own errors; ours carry it in the message.
    if (error.code === 'hardway.invalidArgument') io.stderr(`error: ${error.message}\n`);
    return 2;
  }
  if (error instanceof AlreadyReported) return error.exitCode;
  // A raw EISDIR/ENOTDIR/EACCES from a path nobody wrapped still names the path and what to do.
  if (isFsError(error)) error = fileErrorFrom(error, error.path, /^(open|read|stat|lstat|scandir|access)$/.test(error.syscall ?? '') ? 'read' : 'write');
  if (error instanceof HardwayError) {
    const where = formatWhere(error.where);
    const message = error.message.includes(`${error.where.file ?? '\0'}`) || !where ? error.message : `${where}: ${error.message}`;
    io.stderr(`error: ${message}\n`);
    if (error.hint) io.stderr(`${error.hint}\n`);
    if (verbose) io.stderr(`${error.stack}\n${error.cause instanceof Error ? `caused by: ${error.cause.stack}\n` : ''}`);
    return error.exitCode;
  }
  const text = error instanceof Error ? error.message : String(error);
  io.stderr(`error: ${text}\n`);
  io.stderr(
    verbose && error instanceof Error
      ? `${error.stack}\n`
      : 'This is a bug in hardway, or a local file it read (state.json, pki/, known_hosts) is malformed. Run again with --verbose for details, and report it.\n',
  );
  return 1;
}
