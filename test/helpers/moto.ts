// A real moto_server (Debian's python3-moto in a debootstrapped root) for the AWS provider's
// end-to-end test, inside a network namespace made for the test with only `lo` up: moto invents
// instance addresses (some public), and in that namespace nothing can reach them even by mistake.
// Everything that talks to moto runs in the same namespace (`runNode`). Stops only what it started.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Why: a test that needs root must fail loudly without it, never pass by skipping. */
export function requireRoot(what: string): void {
  if (process.platform !== 'linux' || process.geteuid?.() !== 0) {
    throw new Error(`${what} needs root on Linux (network namespaces, chroot, debootstrap); run it as root: sudo npx vitest run --project e2e`);
  }
}

/** Build (first time, about a minute) or reuse the cached moto root; returns its path. */
export async function motoRoot(): Promise<string> {
  const { stdout } = await run('bash', [join(projectRoot, 'scripts/moto-root.sh')], { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });
  const root = stdout.trim().split('\n').pop();
  if (!root) throw new Error('scripts/moto-root.sh printed no path');
  return root;
}

/** One image in moto's AMI format (MOTO_AMIS_PATH replaces its built-in list). */
export interface MotoAmi {
  ami_id: string;
  name: string;
  owner_id: string;
  architecture: 'x86_64' | 'arm64';
  creation_date: string;
  root_device_name?: string;
  root_device_type?: string;
  virtualization_type?: string;
  state?: string;
  public?: boolean;
  description?: string;
}

export interface MotoServer {
  namespace: string;
  /** The endpoint as seen from inside the namespace. */
  endpoint: string;
  pid: number;
  /** Run `node ARGS` inside the namespace; resolves with its output whatever its exit code. */
  runNode(args: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Stop moto (by PID) and delete the namespace. */
  stop(): Promise<void>;
}

export async function startMoto(options: { root: string; amis?: MotoAmi[] }): Promise<MotoServer> {
  const id = randomBytes(4).toString('hex');
  const namespace = `hwtest-${id}`;
  const port = 20_000 + (randomBytes(2).readUInt16BE() % 20_000);
  await run('ip', ['netns', 'add', namespace]);
  let child: ChildProcess | undefined;
  const amisInRoot = options.amis ? `/tmp/hardway-amis-${id}.json` : undefined;
  const cleanup = async () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child?.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
    if (amisInRoot) await rm(join(options.root, amisInRoot), { force: true });
  };
  try {
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    if (amisInRoot && options.amis) {
      const amis = options.amis.map((ami) => ({
        state: 'available',
        public: true,
        root_device_type: 'ebs',
        root_device_name: '/dev/xvda',
        virtualization_type: 'hvm',
        description: ami.name,
        ...ami,
      }));
      await writeFile(join(options.root, amisInRoot), JSON.stringify(amis));
    }
    const env = amisInRoot ? [`MOTO_AMIS_PATH=${amisInRoot}`] : [];
    // ip netns exec, env and chroot all exec: the PID is moto_server's own.
    child = spawn('ip', ['netns', 'exec', namespace, 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', ...env, 'chroot', options.root, 'moto_server', '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForListening(child, port);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const pid = child.pid as number;
  return {
    namespace,
    endpoint: `http://127.0.0.1:${port}`,
    pid,
    runNode: (args, env = {}) => runInNamespace(namespace, [process.execPath, ...args], env),
    stop: cleanup,
  };
}

function waitForListening(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`moto_server did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`Running on http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        // Keep draining its request log so the pipe never fills.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited (${code}) before listening:\n${output}`));
    });
  });
}

function runInNamespace(namespace: string, command: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', namespace, ...command], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** The environment that points the AWS SDK at moto with dummy credentials and nothing else. */
export function motoEnv(moto: Pick<MotoServer, 'endpoint'>): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_PROFILE: '',
  };
}
