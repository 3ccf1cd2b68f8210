// haproxy's runtime API on the lb node: disable a server (it takes no new connections), read its
// sessions until drained, enable it again. It goes through /run/haproxy/admin.sock when the config
// has one, else through the master socket Debian's unit opens (/run/haproxy-master.sock, `@1`
// routes to the current worker), so hardway's haproxy.cfg needs no socket of its own.
import { shellJoin } from '../transport/shell.ts';

/** The backend units/haproxy.cfg defines. */
export const HAPROXY_BACKEND = 'kube-apiserver';

const SCRIPT = `
import os, socket, stat, sys
command = sys.argv[1]
sockets = [(sys.argv[2], "")] if len(sys.argv) > 2 else [("/run/haproxy/admin.sock", ""), ("/run/haproxy-master.sock", "@1 ")]
for path, prefix in sockets:
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
    except OSError:
        continue
    s.sendall((prefix + command + "\\n").encode())
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(0)
sys.stderr.write("no haproxy admin socket answers: " + ", ".join(path for path, _ in sockets) + "\\n")
sys.exit(3)
`.trim();

/** Why: one command line per runtime API call; python3 is in every node image (socat is not). */
export function haproxyAdminCommand(command: string, socket?: string): string {
  return shellJoin(['python3', '-c', SCRIPT, command, ...(socket ? [socket] : [])]);
}

/** One row of `show stat`: what drain and health waits read. */
export interface ServerStat {
  proxy: string;
  server: string;
  /** UP, DOWN, MAINT, `MAINT (resolution)`, `UP 1/2`, no check... */
  status: string;
  /** Current sessions. */
  sessions: number;
}

/** Why: `show stat` is CSV with a `# ` header; columns are found by name, not position. */
export function parseShowStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((line) => line.trim());
  const headerLine = lines.find((line) => line.startsWith('# '));
  if (!headerLine) return [];
  const header = headerLine.slice(2).split(',');
  const at = (name: string) => header.indexOf(name);
  const stats: ServerStat[] = [];
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    const cells = line.split(',');
    const get = (name: string) => (at(name) >= 0 ? (cells[at(name)] ?? '') : '');
    stats.push({ proxy: get('pxname'), server: get('svname'), status: get('status'), sessions: Number(get('scur')) || 0 });
  }
  return stats;
}

/** The backend's server of that name, or undefined when the config does not list it. */
export function serverStat(stats: readonly ServerStat[], server: string, backend = HAPROXY_BACKEND): ServerStat | undefined {
  return stats.find((stat) => stat.proxy === backend && stat.server === server);
}
