// The hardening corpus: bad inputs a careless or hostile user gives hardway (spec files, flags, and
// the files hardway leaves for people to edit), each with the exit code it must get, the field,
// flag or file the message must name, and nothing changed on disk. One table; the test runs it.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface Case {
  name: string;
  /** argv after `hardway`; `{dir}` is the case's cluster directory. Default: ['validate']. */
  args?: string[];
  /** The cluster.yaml: an object merged over the base spec, or raw text. */
  spec?: Record<string, unknown> | { raw: string | Buffer };
  /** Changes files of the cluster directory (copied from the base) before the run. */
  setup?: (dir: string) => Promise<void>;
  code: number;
  /** Text the message on stderr must contain: the field, flag or file. */
  names: string | RegExp;
}

/** A static, stacked, single-controller cluster at 127.0.0.1:1: nothing listens, nothing is reached. */
export const baseSpec = {
  name: 'corpus',
  provider: 'static',
  topology: 'stacked',
  network: { nodeSubnet: '127.0.0.0/24' },
  nodes: { controllers: { hosts: [{ name: 'controller-0', address: '127.0.0.1', port: 1 }] } },
  loadBalancer: { type: 'none' },
  ssh: { keyPath: 'ssh/id_ed25519' },
};

export const labSpec = { name: 'corpuslab', provider: 'lab', nodes: { controllers: { count: 1 }, etcd: { count: 1 } } };
export const awsSpec = { name: 'corpusaws', provider: 'aws', loadBalancer: { type: 'none' }, nodes: { controllers: { count: 1 }, etcd: { count: 1 } }, aws: { adminCidrs: ['198.51.100.0/24'] } };

/** Deep merge; arrays and scalars replace. `undefined` removes a key. */
export function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) delete out[key];
    else if (value && typeof value === 'object' && !Array.isArray(value) && out[key] && typeof out[key] === 'object' && !Array.isArray(out[key])) {
      out[key] = merge(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}

export function specText(spec: Case['spec']): string | Buffer {
  if (!spec) return stringify(baseSpec);
  if ('raw' in spec) return spec.raw as string | Buffer;
  return stringify(merge(baseSpec, spec));
}

const host = (over: Record<string, unknown>) => ({ nodes: { controllers: { hosts: [{ name: 'controller-0', address: '127.0.0.1', port: 1, ...over }] } } });
const lab = (over: Record<string, unknown>) => ({ raw: stringify(merge(labSpec, over)) });
const aws = (over: Record<string, unknown>) => ({ raw: stringify(merge(awsSpec, over)) });
const HOSTILE = 'x\nExecStartPre=/bin/sh -c "touch /tmp/owned"';
/** Setup: another file of the cluster directory copied over this one (a valid file, the wrong one). */
const copyOver = (from: string, to: string) => async (dir: string) => {
  const { copyFile } = await import('node:fs/promises');
  await copyFile(join(dir, from), join(dir, to));
};
const replace = (file: string, text: string | Buffer) => async (dir: string) => {
  await rm(join(dir, file), { recursive: true, force: true });
  await writeFile(join(dir, file), text);
};
const directoryAt = (file: string) => async (dir: string) => {
  await rm(join(dir, file), { recursive: true, force: true });
  await mkdir(join(dir, file), { recursive: true });
};
const fifoAt = (file: string) => async (dir: string) => {
  const { execFileSync } = await import('node:child_process');
  await rm(join(dir, file), { recursive: true, force: true });
  await mkdir(join(dir, file, '..'), { recursive: true });
  execFileSync('mkfifo', [join(dir, file)]);
};
const editJson = (file: string, edit: (value: Record<string, unknown>) => void) => async (dir: string) => {
  const { readFile } = await import('node:fs/promises');
  const value = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(join(dir, file), JSON.stringify(value, null, 2));
};
const state = (value: unknown) => replace('.hardway/state.json', typeof value === 'string' ? value : JSON.stringify(value));
const goodKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMiqBlKxcKG6XIfyWWjqWIgD9dsLu7j4GzSlklA9xJfz';

const billionLaughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  .concat(['b', 'c', 'd', 'e', 'f', 'g'].map((key, index) => `${key}: &${key} [${Array(9).fill(`*${'abcdefg'[index]}`).join(',')}]`))
  .join('\n');

export const cases: Case[] = [
  // --- spec strings that would reach a unit, a shell command or an argv ---
  { name: 'ssh.user starting with "-" (an ssh option)', spec: { ssh: { user: '-oProxyCommand=touch /tmp/owned' } }, code: 2, names: 'ssh.user' },
  { name: 'ssh.user with a newline', spec: { ssh: { user: `root${HOSTILE}` } }, code: 2, names: 'ssh.user' },
  { name: 'ssh.user empty', spec: { ssh: { user: '' } }, code: 2, names: 'ssh.user' },
  { name: 'ssh.user with a space', spec: { ssh: { user: 'a b' } }, code: 2, names: 'ssh.user' },
  { name: 'ssh.user with "@"', spec: { ssh: { user: 'root@evil' } }, code: 2, names: 'ssh.user' },
  { name: 'ssh.user a number', spec: { ssh: { user: 42 } }, code: 2, names: /ssh\.user: expected string, got number/ },
  { name: 'ssh.user too long', spec: { ssh: { user: 'u'.repeat(40) } }, code: 2, names: 'ssh.user' },
  { name: 'static host user starting with "-"', spec: host({ user: '-l' }), code: 2, names: 'nodes.controllers.hosts[0].user' },
  { name: 'static host user with a newline', spec: host({ user: `admin${HOSTILE}` }), code: 2, names: 'nodes.controllers.hosts[0].user' },
  { name: 'static host address starting with "-"', spec: host({ address: '-oProxyCommand=touch /tmp/owned' }), code: 2, names: 'nodes.controllers.hosts[0].address' },
  { name: 'static host address with a newline', spec: host({ address: `127.0.0.1${HOSTILE}` }), code: 2, names: 'nodes.controllers.hosts[0].address' },
  { name: 'static host address with a space', spec: host({ address: 'my host' }), code: 2, names: 'nodes.controllers.hosts[0].address' },
  { name: 'static host address empty', spec: host({ address: '' }), code: 2, names: 'nodes.controllers.hosts[0].address' },
  { name: 'static host address with shell characters', spec: host({ address: 'a;reboot' }), code: 2, names: 'nodes.controllers.hosts[0].address' },
  { name: 'static host address missing', spec: host({ address: undefined }), code: 2, names: /hosts\[0\]\.address: is required/ },
  { name: 'static host name not a DNS label', spec: host({ name: 'Controller_0' }), code: 2, names: 'nodes.controllers.hosts[0].name' },
  { name: 'static host name with a newline', spec: host({ name: `c${HOSTILE}` }), code: 2, names: 'nodes.controllers.hosts[0].name' },
  { name: 'static host ip not an IPv4', spec: host({ ip: '10.0.0.300' }), code: 2, names: 'nodes.controllers.hosts[0].ip' },
  { name: 'static host port out of range', spec: host({ port: 70000 }), code: 2, names: 'nodes.controllers.hosts[0].port' },
  { name: 'static host port a string', spec: host({ port: '22' }), code: 2, names: /hosts\[0\]\.port: expected number, got string/ },
  { name: 'static host unknown key', spec: host({ adress: '127.0.0.2' }), code: 2, names: 'nodes.controllers.hosts[0].adress' },
  { name: 'bastion host starting with "-"', spec: { ssh: { bastion: { host: '-J' } } }, code: 2, names: 'ssh.bastion.host' },
  { name: 'bastion host with a newline', spec: { ssh: { bastion: { host: `jump${HOSTILE}` } } }, code: 2, names: 'ssh.bastion.host' },
  { name: 'bastion host with "%"', spec: { ssh: { bastion: { host: 'jump%h' } } }, code: 2, names: 'ssh.bastion.host' },
  { name: 'bastion user starting with "-"', spec: { ssh: { bastion: { host: 'jump', user: '-oX=y' } } }, code: 2, names: 'ssh.bastion.user' },
  { name: 'bastion port 0', spec: { ssh: { bastion: { host: 'jump', port: 0 } } }, code: 2, names: 'ssh.bastion.port' },
  { name: 'bastion host missing', spec: { ssh: { bastion: { user: 'ops' } } }, code: 2, names: /ssh\.bastion\.host: is required/ },
  { name: 'loadBalancer.dnsName with a newline (reaches units and certificates)', spec: { loadBalancer: { dnsName: `api.example.com${HOSTILE}` } }, code: 2, names: 'loadBalancer.dnsName' },
  { name: 'loadBalancer.dnsName starting with "-"', spec: { loadBalancer: { dnsName: '-api.example.com' } }, code: 2, names: 'loadBalancer.dnsName' },
  { name: 'loadBalancer.dnsName with an empty label', spec: { loadBalancer: { dnsName: 'api..example.com' } }, code: 2, names: 'loadBalancer.dnsName' },
  { name: 'loadBalancer.dnsName longer than 253', spec: { loadBalancer: { dnsName: `${'a'.repeat(60)}.`.repeat(5) + 'com' } }, code: 2, names: 'loadBalancer.dnsName' },
  { name: 'loadBalancer.dnsName with a URL', spec: { loadBalancer: { dnsName: 'https://api.example.com' } }, code: 2, names: 'loadBalancer.dnsName' },
  { name: 'loadBalancer.address with a space', spec: { loadBalancer: { type: 'haproxy', address: '127.0.0.30 x' } }, code: 2, names: 'loadBalancer.address' },
  { name: 'loadBalancer.port 0', spec: { loadBalancer: { port: 0 } }, code: 2, names: 'loadBalancer.port' },
  { name: 'loadBalancer.type unknown', spec: { loadBalancer: { type: 'nginx' } }, code: 2, names: 'loadBalancer.type' },
  { name: 'pki.extraSANs entry with a space', spec: { pki: { extraSANs: ['ok.example.com', 'bad name'] } }, code: 2, names: 'pki.extraSANs[1]' },
  { name: 'pki.extraSANs entry with a newline', spec: { pki: { extraSANs: [`api${HOSTILE}`] } }, code: 2, names: 'pki.extraSANs[0]' },
  { name: 'pki.extraSANs entry starting with "-"', spec: { pki: { extraSANs: ['-api'] } }, code: 2, names: 'pki.extraSANs[0]' },
  { name: 'pki.extraSANs not a list', spec: { pki: { extraSANs: 'api.example.com' } }, code: 2, names: /pki\.extraSANs: expected array, got string/ },
  { name: 'pki.extraSANs with 101 names', spec: { pki: { extraSANs: Array.from({ length: 101 }, (_, index) => `n${index}.example.com`) } }, code: 2, names: 'pki.extraSANs' },
  { name: 'pki.names.O with a newline', spec: { pki: { names: { O: 'Kubernetes\nOU=evil' } } }, code: 2, names: 'pki.names.O' },
  { name: 'pki.names.C not two letters', spec: { pki: { names: { C: 'USA' } } }, code: 2, names: 'pki.names.C' },
  { name: 'pki.names.OU longer than 64', spec: { pki: { names: { OU: 'x'.repeat(65) } } }, code: 2, names: 'pki.names.OU' },
  { name: 'pki.names.L with a control character', spec: { pki: { names: { L: 'Port\u0007land' } } }, code: 2, names: 'pki.names.L' },
  { name: 'pki.names.ST a number', spec: { pki: { names: { ST: 5 } } }, code: 2, names: /pki\.names\.ST: expected string, got number/ },
  { name: 'pki.names unknown key', spec: { pki: { names: { CN: 'x' } } }, code: 2, names: 'pki.names.CN' },
  { name: 'pki.certExpiry 0h', spec: { pki: { certExpiry: '0h' } }, code: 2, names: 'pki.certExpiry' },
  { name: 'pki.certExpiry under an hour', spec: { pki: { certExpiry: '30m' } }, code: 2, names: 'pki.certExpiry' },
  { name: 'pki.caExpiry beyond 100 years', spec: { pki: { caExpiry: '9999999h' } }, code: 2, names: 'pki.caExpiry' },
  { name: 'pki.caExpiry absurdly large', spec: { pki: { caExpiry: '99999999999999999999999h' } }, code: 2, names: 'pki.caExpiry' },
  { name: 'pki.certExpiry not a duration', spec: { pki: { certExpiry: '1 year' } }, code: 2, names: 'pki.certExpiry' },
  { name: 'pki.certExpiry a number', spec: { pki: { certExpiry: 8760 } }, code: 2, names: /pki\.certExpiry: expected string, got number/ },
  { name: 'pki.renewBefore beyond 100 years', spec: { pki: { renewBefore: '9999999h' } }, code: 2, names: 'pki.renewBefore' },
  { name: 'pki.keySize 1024', spec: { pki: { keySize: 1024 } }, code: 2, names: 'pki.keySize' },
  { name: 'pki.keySize a string', spec: { pki: { keySize: '2048' } }, code: 2, names: 'pki.keySize' },
  { name: 'ssh.keyPath with a newline', spec: { ssh: { keyPath: 'ssh/id\nExecStart=/bin/sh' } }, code: 2, names: 'ssh.keyPath' },
  { name: 'ssh.keyPath empty', spec: { ssh: { keyPath: '' } }, code: 2, names: 'ssh.keyPath' },
  { name: 'ssh.agent a string', spec: { ssh: { agent: 'yes' } }, code: 2, names: /ssh\.agent: expected boolean, got string/ },
  { name: 'ssh.port a string', spec: { ssh: { port: 'twenty-two' } }, code: 2, names: /ssh\.port: expected number, got string/ },
  { name: 'unitsDir with a newline', spec: { unitsDir: 'units\n[Service]' }, code: 2, names: 'unitsDir' },
  { name: 'unitsDir longer than 4096', spec: { unitsDir: 'u/'.repeat(2100) }, code: 2, names: 'unitsDir' },
  { name: 'artifacts.dir with a NUL', spec: { artifacts: { dir: 'a\u0000b' } }, code: 2, names: 'artifacts.dir' },
  { name: 'artifacts.cacheDir with a tab', spec: { artifacts: { cacheDir: 'cache\tdir' } }, code: 2, names: 'artifacts.cacheDir' },
  { name: 'lab.suite with a newline (reaches debootstrap)', spec: lab({ lab: { suite: 'bookworm\n--include=evil' } }), code: 2, names: 'lab.suite' },
  { name: 'lab.suite starting with "-"', spec: lab({ lab: { suite: '--variant=evil' } }), code: 2, names: 'lab.suite' },
  { name: 'lab.suite with a slash', spec: lab({ lab: { suite: '../../etc' } }), code: 2, names: 'lab.suite' },
  { name: 'lab.mirror not http(s)', spec: lab({ lab: { mirror: 'file:///etc' } }), code: 2, names: 'lab.mirror' },
  { name: 'lab.mirror with a newline', spec: lab({ lab: { mirror: 'http://deb.debian.org/debian\n--foreign' } }), code: 2, names: 'lab.mirror' },
  { name: 'lab.cacheDir with a newline', spec: lab({ lab: { cacheDir: '/var/cache\n/x' } }), code: 2, names: 'lab.cacheDir' },
  { name: 'aws.region with shell characters', spec: aws({ aws: { region: 'us-east-1; rm -rf /' } }), code: 2, names: 'aws.region' },
  { name: 'aws.region uppercase', spec: aws({ aws: { region: 'US-EAST-1' } }), code: 2, names: 'aws.region' },
  { name: 'aws.availabilityZone with a newline', spec: aws({ aws: { availabilityZone: 'us-east-1a\nx' } }), code: 2, names: 'aws.availabilityZone' },
  { name: 'aws instanceType with a space', spec: aws({ nodes: { controllers: { instanceType: 't3.medium --foo' } } }), code: 2, names: 'nodes.controllers.instanceType' },
  { name: 'aws.rootVolumeGiB absurd', spec: aws({ aws: { rootVolumeGiB: 100000 } }), code: 2, names: 'aws.rootVolumeGiB' },
  { name: 'aws.adminCidrs with 60 entries', spec: aws({ aws: { adminCidrs: Array.from({ length: 60 }, (_, index) => `198.51.${index}.0/24`) } }), code: 2, names: 'aws.adminCidrs' },
  { name: 'aws.endpoint not http(s)', spec: aws({ aws: { endpoint: 'ftp://127.0.0.1' } }), code: 2, names: 'aws.endpoint' },
  { name: 'aws.ami malformed', spec: aws({ aws: { ami: 'ami-XYZ; x' } }), code: 2, names: 'aws.ami' },
  { name: 'network.clusterDomain with an empty label', spec: { network: { clusterDomain: 'cluster..local' } }, code: 2, names: 'network.clusterDomain' },
  { name: 'network.clusterDomain uppercase', spec: { network: { clusterDomain: 'Cluster.Local' } }, code: 2, names: 'network.clusterDomain' },
  { name: 'network.clusterDomain with a newline', spec: { network: { clusterDomain: `cluster.local${HOSTILE}` } }, code: 2, names: 'network.clusterDomain' },
  { name: 'network.serviceCIDR /33', spec: { network: { serviceCIDR: '10.32.0.0/33' } }, code: 2, names: 'network.serviceCIDR' },
  { name: 'network.nodeSubnet with a newline', spec: { network: { nodeSubnet: '127.0.0.0/24\nx' } }, code: 2, names: 'network.nodeSubnet' },
  { name: 'network a list', spec: { network: ['10.0.0.0/24'] }, code: 2, names: /network: expected a mapping, got array/ },
  { name: 'versions a string', spec: { versions: '1.32.3' }, code: 2, names: /versions: expected a mapping, got string/ },
  { name: 'versions.kubernetes not x.y.z', spec: { versions: { kubernetes: '1.32' } }, code: 2, names: 'versions.kubernetes' },
  { name: 'versions.etcd with a newline', spec: { versions: { etcd: '3.5.16\nx' } }, code: 2, names: 'versions.etcd' },
  // --- bounds ---
  { name: 'nodes.controllers.count above 100', spec: lab({ nodes: { controllers: { count: 101 } } }), code: 2, names: 'nodes.controllers.count' },
  { name: 'nodes.etcd.count a million', spec: lab({ nodes: { etcd: { count: 1000001 } } }), code: 2, names: 'nodes.etcd.count' },
  { name: 'nodes.controllers.count negative', spec: lab({ nodes: { controllers: { count: -1 } } }), code: 2, names: 'nodes.controllers.count' },
  { name: 'nodes.controllers.count fractional', spec: lab({ nodes: { controllers: { count: 1.5 } } }), code: 2, names: 'nodes.controllers.count' },
  { name: 'nodes.controllers.count a string', spec: lab({ nodes: { controllers: { count: '3' } } }), code: 2, names: /nodes\.controllers\.count: expected number, got string/ },
  { name: 'nodes.controllers.ips with 101 addresses', spec: lab({ nodes: { controllers: { ips: Array.from({ length: 101 }, (_, index) => `10.240.0.${index + 2}`) } } }), code: 2, names: 'nodes.controllers.ips' },
  { name: 'static hosts: 101 of them', spec: { nodes: { controllers: { hosts: Array.from({ length: 101 }, (_, index) => ({ address: `127.0.1.${index + 1}` })) } } }, code: 2, names: 'nodes.controllers.hosts' },
  { name: 'billion laughs (YAML aliases)', spec: { raw: billionLaughs }, code: 2, names: /cluster\.yaml: invalid YAML: too many aliases/ },
  { name: 'spec larger than 1 MiB', spec: { raw: `name: corpus\n# ${'x'.repeat(1024 * 1024 + 10)}\n` }, code: 2, names: /cluster\.yaml is larger than/ },
  { name: 'deeply nested YAML', spec: { raw: `name: ${'['.repeat(5000)}${']'.repeat(5000)}\n` }, code: 2, names: 'cluster.yaml' },
  // --- spec structure and types ---
  { name: 'name missing', spec: { name: undefined }, code: 2, names: /name: is required/ },
  { name: 'name a number', spec: { name: 123 }, code: 2, names: /name: expected string, got number/ },
  { name: 'name not a DNS label', spec: { name: 'Bad_Name' }, code: 2, names: 'name' },
  { name: 'name with a newline', spec: { name: `c${HOSTILE}` }, code: 2, names: 'name' },
  { name: 'provider unknown', spec: { provider: 'docker' }, code: 2, names: 'provider' },
  { name: 'topology unknown', spec: { topology: 'ring' }, code: 2, names: 'topology' },
  { name: 'unknown top-level key', spec: { nmae: 'x' }, code: 2, names: /nmae: unknown key/ },
  { name: 'YAML syntax error', spec: { raw: 'name: corpus\nnodes: [\n' }, code: 2, names: /cluster\.yaml:\d+: invalid YAML/ },
  { name: 'duplicate key', spec: { raw: 'name: a\nname: b\nprovider: static\n' }, code: 2, names: /cluster\.yaml:2: invalid YAML/ },
  { name: 'several YAML documents', spec: { raw: 'name: a\n---\nname: b\n' }, code: 2, names: /cluster\.yaml:\d+: invalid YAML/ },
  { name: 'spec is a list', spec: { raw: '- name: a\n' }, code: 2, names: /cluster\.yaml(:\d+)?: expected a mapping, got array/ },
  { name: 'spec is a scalar', spec: { raw: 'hello\n' }, code: 2, names: /cluster\.yaml(:\d+)?: expected a mapping, got string/ },
  { name: 'spec is empty', spec: { raw: '' }, code: 2, names: /name: is required/ },
  { name: 'spec is binary', spec: { raw: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3]) }, code: 2, names: 'cluster.yaml' },
  { name: 'tab indentation', spec: { raw: 'name: corpus\nnetwork:\n\tnodeSubnet: 10.0.0.0/24\n' }, code: 2, names: /cluster\.yaml:\d+: invalid YAML/ },
  // --- -c: files that are not files ---
  { name: '-c /dev/zero (never ends)', args: ['validate', '-c', '/dev/zero'], code: 2, names: '/dev/zero' },
  { name: '-c a FIFO', args: ['validate', '-c', 'spec.fifo'], setup: fifoAt('spec.fifo'), code: 2, names: 'spec.fifo' },
  { name: '-c a directory', args: ['validate', '-c', 'pki'], code: 2, names: 'pki' },
  { name: '-c a missing file', args: ['validate', '-c', 'nope.yaml'], code: 2, names: 'nope.yaml' },
  { name: '-c empty', args: ['validate', '-c', ''], code: 2, names: '-c' },
  { name: '-c with a newline', args: ['validate', '-c', 'cluster.yaml\nx'], code: 2, names: '-c' },
  { name: '-c through a symlink loop', args: ['validate', '-c', 'loop.yaml'], setup: async (dir) => symlink('loop.yaml', join(dir, 'loop.yaml')), code: 2, names: 'loop.yaml' },
  { name: '-c a path under a file', args: ['validate', '-c', 'cluster.yaml/x.yaml'], code: 2, names: 'cluster.yaml/x.yaml' },
  // --- flags ---
  { name: 'plan --step ""', args: ['plan', '--step', ''], code: 2, names: '--step' },
  { name: 'plan --nodes ""', args: ['plan', '--nodes', ''], code: 2, names: '--nodes' },
  { name: 'plan --from ""', args: ['plan', '--from', ''], code: 2, names: '--from' },
  { name: 'plan --nodes ","', args: ['plan', '--nodes', ','], code: 2, names: '--nodes' },
  { name: 'plan --step "etcd,"', args: ['plan', '--step', 'etcd,'], code: 2, names: '--step' },
  { name: 'plan --step with a newline', args: ['plan', '--step', 'etcd\nx'], code: 2, names: '--step' },
  { name: 'plan --from two steps', args: ['plan', '--from', 'pki,etcd'], code: 2, names: '--from' },
  { name: 'plan --step unknown', args: ['plan', '--step', 'bogus'], code: 2, names: 'bogus' },
  { name: 'plan --nodes unknown', args: ['plan', '--nodes', 'etcd-9'], code: 2, names: 'etcd-9' },
  { name: 'plan --step and --from together', args: ['plan', '--step', 'etcd', '--from', 'pki'], code: 2, names: '--from' },
  { name: 'plan with an extra argument', args: ['plan', 'extra'], code: 2, names: 'too many arguments' },
  { name: 'validate unknown option', args: ['validate', '--bogus'], code: 2, names: '--bogus' },
  { name: '--concurrency 0', args: ['--concurrency', '0', 'validate'], code: 2, names: '--concurrency' },
  { name: '--concurrency huge', args: ['--concurrency', '100000', 'validate'], code: 2, names: '--concurrency' },
  { name: '--concurrency not a number', args: ['--concurrency', 'ten', 'validate'], code: 2, names: '--concurrency' },
  { name: '--concurrency empty', args: ['--concurrency', '', 'validate'], code: 2, names: '--concurrency' },
  { name: '--concurrency in hex', args: ['--concurrency', '0x10', 'validate'], code: 2, names: '--concurrency' },
  { name: 'provision --step ""', args: ['provision', '--step', ''], code: 2, names: '--step' },
  { name: 'provision --nodes ""', args: ['provision', '--step', 'etcd', '--nodes', ''], code: 2, names: '--nodes' },
  { name: 'provision --step unknown', args: ['provision', '--step', 'bogus'], code: 2, names: 'bogus' },
  { name: 'provision --nodes unknown', args: ['provision', '--step', 'etcd', '--nodes', 'nosuch'], code: 2, names: 'nosuch' },
  { name: 'provision unknown option', args: ['provision', '--bogus'], code: 2, names: '--bogus' },
  { name: 'up with an extra argument', args: ['up', 'now'], code: 2, names: 'too many arguments' },
  { name: 'status unknown option', args: ['status', '--bogus'], code: 2, names: '--bogus' },
  { name: 'unknown command', args: ['frobnicate'], code: 2, names: 'frobnicate' },
  { name: 'explain an unknown step', args: ['explain', 'bogus'], code: 2, names: 'bogus' },
  { name: 'explain without a step', args: ['explain'], code: 2, names: 'step' },
  { name: 'init --provider unknown', args: ['init', 'new', '--provider', 'docker'], code: 2, names: '--provider' },
  { name: 'init --name not a DNS label', args: ['init', 'new', '--name', 'Bad_Name'], code: 2, names: '--name' },
  { name: 'init into a file', args: ['init', 'cluster.yaml'], code: 2, names: 'cluster.yaml' },
  { name: 'init over an existing cluster.yaml', args: ['init', '.'], code: 2, names: 'cluster.yaml exists' },
  { name: 'init --force over a directory named cluster.yaml', args: ['init', 'sub', '--force'], setup: directoryAt('sub/cluster.yaml'), code: 2, names: 'cluster.yaml' },
  { name: 'init with an empty directory', args: ['init', ''], code: 2, names: 'cluster directory' },
  { name: 'kubeconfig --user unknown', args: ['kubeconfig', '--user', 'nobody'], code: 2, names: 'nobody' },
  { name: 'kubeconfig --user constructor', args: ['kubeconfig', '--user', 'constructor'], code: 2, names: 'constructor' },
  { name: 'kubeconfig --out ""', args: ['kubeconfig', '--out', ''], code: 2, names: '--out' },
  { name: 'kubeconfig --out a directory', args: ['kubeconfig', '--out', 'pki'], code: 2, names: 'pki' },
  { name: 'kubeconfig --out a FIFO', args: ['kubeconfig', '--out', 'out.fifo'], setup: fifoAt('out.fifo'), code: 2, names: 'out.fifo' },
  { name: 'kubeconfig --out /dev/null (a device)', args: ['kubeconfig', '--out', '/dev/null'], code: 2, names: '/dev/null' },
  { name: 'kubeconfig --out a symlink', args: ['kubeconfig', '--out', 'link'], setup: async (dir) => symlink('cluster.yaml', join(dir, 'link')), code: 2, names: 'link' },
  { name: 'kubeconfig --out under a file', args: ['kubeconfig', '--out', 'cluster.yaml/admin'], code: 2, names: 'cluster.yaml' },
  { name: 'pki renew an unknown name', args: ['pki', 'renew', 'nosuch'], code: 2, names: 'nosuch' },
  { name: 'pki renew a CA', args: ['pki', 'renew', 'ca'], code: 2, names: 'ca' },
  { name: 'pki inspect with an extra argument', args: ['pki', 'inspect', 'extra'], code: 2, names: 'too many arguments' },
  { name: 'ssh to an unknown node', args: ['ssh', 'etcd-9'], code: 2, names: 'etcd-9' },
  { name: 'ssh to an empty node name', args: ['ssh', ''], code: 2, names: 'no node named' },
  { name: 'ssh to a node named like an option', args: ['ssh', '--', '-oProxyCommand=touch /tmp/owned'], code: 2, names: '-oProxyCommand' },
  { name: 'destroy without --yes and no terminal', args: ['destroy'], code: 2, names: '--yes' },
  { name: 'destroy with an extra argument', args: ['destroy', '--yes', 'now'], code: 2, names: 'too many arguments' },
  {
    name: 'destroy --purge refused (no AWS region) keeps .hardway/ and pki/',
    args: ['destroy', '--yes', '--purge'],
    spec: aws({}),
    code: 3,
    names: 'AWS region',
  },
  // --- local files hardway left for people to edit ---
  { name: 'pki/ca.pem corrupt: never inside a kubeconfig', args: ['kubeconfig'], setup: replace('pki/ca.pem', '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n'), code: 2, names: 'pki/ca.pem' },
  { name: 'pki/admin.pem corrupt', args: ['kubeconfig', '--out', 'admin.kubeconfig'], setup: replace('pki/admin.pem', 'garbage\n'), code: 2, names: 'pki/admin.pem' },
  { name: 'pki/admin-key.pem corrupt', args: ['kubeconfig'], setup: replace('pki/admin-key.pem', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'), code: 2, names: 'pki/admin-key.pem' },
  {
    name: 'pki/admin-key.pem is another key',
    args: ['kubeconfig'],
    setup: copyOver('pki/ca-key.pem', 'pki/admin-key.pem'),
    code: 2,
    names: 'pki/admin-key.pem',
  },
  {
    name: 'pki/admin.pem signed by another CA',
    args: ['kubeconfig'],
    setup: copyOver('pki/etcd-ca.pem', 'pki/ca.pem'),
    code: 2,
    names: 'pki/admin.pem',
  },
  { name: 'pki/admin.pem a directory', args: ['kubeconfig'], setup: directoryAt('pki/admin.pem'), code: 2, names: 'pki/admin.pem' },
  { name: 'pki/admin.pem a FIFO', args: ['kubeconfig'], setup: fifoAt('pki/admin.pem'), code: 2, names: 'pki/admin.pem' },
  { name: 'pki/admin-key.pem larger than 1 MiB', args: ['kubeconfig'], setup: replace('pki/admin-key.pem', 'x'.repeat(1024 * 1024 + 1)), code: 2, names: 'pki/admin-key.pem' },
  { name: 'pki/ca.pem a FIFO: pki inspect', args: ['pki', 'inspect'], setup: fifoAt('pki/ca.pem'), code: 2, names: 'pki/ca.pem' },
  { name: 'pki/admin-csr.json invalid JSON', args: ['pki', 'renew', 'admin'], setup: replace('pki/admin-csr.json', '{ "CN": '), code: 2, names: 'pki/admin-csr.json' },
  { name: 'pki/admin-csr.json CN a number', args: ['pki', 'renew', 'admin'], setup: editJson('pki/admin-csr.json', (value) => void (value.CN = 5)), code: 2, names: /admin-csr\.json CN: expected string, got number/ },
  { name: 'pki/admin-csr.json host with a space', args: ['pki', 'renew', 'admin'], setup: editJson('pki/admin-csr.json', (value) => void (value.hosts = ['bad host'])), code: 2, names: /admin-csr\.json hosts\[0\]/ },
  { name: 'pki/admin-csr.json names.O with a newline', args: ['pki', 'renew', 'admin'], setup: editJson('pki/admin-csr.json', (value) => void (value.names = [{ O: 'system:masters\nCN=x' }])), code: 2, names: /admin-csr\.json names\[0\]\.O/ },
  { name: 'pki/admin-csr.json key size 512', args: ['pki', 'renew', 'admin'], setup: editJson('pki/admin-csr.json', (value) => void (value.key = { algo: 'rsa', size: 512 })), code: 2, names: /admin-csr\.json key\.size/ },
  { name: 'pki/admin-csr.json a directory', args: ['pki', 'renew', 'admin'], setup: directoryAt('pki/admin-csr.json'), code: 2, names: 'pki/admin-csr.json' },
  { name: 'pki/ca-config.json invalid JSON', args: ['pki', 'renew', 'admin'], setup: replace('pki/ca-config.json', '{'), code: 2, names: 'pki/ca-config.json' },
  { name: 'pki/ca-config.json expiry 0h', args: ['pki', 'renew', 'admin'], setup: editJson('pki/ca-config.json', (value) => void ((value.signing as { profiles: { client: { expiry: string } } }).profiles.client.expiry = '0h')), code: 2, names: 'signing.profiles.client.expiry' },
  { name: 'pki/ca-config.json expiry absurd', args: ['pki', 'renew', 'admin'], setup: editJson('pki/ca-config.json', (value) => void ((value.signing as { default: { expiry: string } }).default.expiry = '1000000000h')), code: 2, names: 'signing.default.expiry' },
  { name: 'pki/ca-config.json signing a string', args: ['pki', 'renew', 'admin'], setup: replace('pki/ca-config.json', '{"signing": "yes"}'), code: 2, names: /ca-config\.json signing: expected a mapping, got string/ },
  { name: 'pki/ca-config.json a directory', args: ['pki', 'renew', 'admin'], setup: directoryAt('pki/ca-config.json'), code: 2, names: 'pki/ca-config.json' },
  {
    name: 'pki/ a symlink out of the cluster directory: no secret written there',
    args: ['pki', 'renew', 'admin'],
    setup: async (dir) => {
      const { rename } = await import('node:fs/promises');
      await rename(join(dir, 'pki'), join(dir, '..', `${dir.split('/').pop()}-outside-pki`));
      await symlink(join(dir, '..', `${dir.split('/').pop()}-outside-pki`), join(dir, 'pki'));
    },
    code: 2,
    names: /pki\/\S+: its directory leads out of .* through a symbolic link/,
  },
  { name: '.hardway/state.json invalid JSON', setup: state('{"steps": {'), code: 2, names: '.hardway/state.json' },
  { name: '.hardway/state.json null', setup: state('null'), code: 2, names: '.hardway/state.json' },
  { name: '.hardway/state.json steps null', setup: state({ version: 1, steps: null }), code: 2, names: /state\.json steps: expected record, got null/ },
  { name: '.hardway/state.json step record malformed', args: ['plan'], setup: state({ version: 1, steps: { pki: { local: { status: 'maybe' } } } }), code: 2, names: 'steps.pki.local.status' },
  { name: '.hardway/state.json sshAddress like an option', args: ['ssh', 'controller-0'], setup: state({ version: 1, providerFacts: { sshAddresses: { 'controller-0': '-oProxyCommand=touch /tmp/owned' } } }), code: 2, names: 'providerFacts.sshAddresses.controller-0' },
  { name: '.hardway/state.json loadBalancerDNSName with a newline', args: ['plan'], setup: state({ version: 1, providerFacts: { loadBalancerDNSName: `nlb${HOSTILE}` } }), code: 2, names: 'providerFacts.loadBalancerDNSName' },
  { name: '.hardway/state.json version 2', args: ['status'], setup: state({ version: 2 }), code: 2, names: 'version' },
  { name: '.hardway/state.json a FIFO', args: ['status'], setup: fifoAt('.hardway/state.json'), code: 2, names: '.hardway/state.json' },
  { name: '.hardway/state.json a directory', args: ['provision', '--step', 'pki'], setup: directoryAt('.hardway/state.json'), code: 2, names: '.hardway/state.json' },
  { name: '.hardway/lock a directory', args: ['provision', '--step', 'pki'], setup: directoryAt('.hardway/lock'), code: 2, names: '.hardway/lock' },
  { name: '.hardway/lock a FIFO', args: ['destroy', '--yes'], setup: fifoAt('.hardway/lock'), code: 2, names: '.hardway/lock' },
  { name: '.hardway/pki-generated.json corrupt: never rewritten', args: ['provision', '--step', 'pki'], setup: replace('.hardway/pki-generated.json', '{"version": 1, "files": '), code: 2, names: /\.hardway\/pki-generated\.json is not hardway's record/ },
  { name: '.hardway/lock not a hardway lock', args: ['provision', '--step', 'pki'], setup: replace('.hardway/lock', '{"pid": 12'), code: 2, names: /\.hardway\/lock is not a hardway lock/ },
  { name: 'known_hosts with a line missing its key', args: ['ssh', 'controller-0'], setup: replace('known_hosts', `127.0.0.1 ${goodKey}\n[127.0.0.1]:1 ssh-ed25519\n`), code: 2, names: 'known_hosts:2' },
  { name: 'known_hosts with an unknown marker', args: ['status'], setup: replace('known_hosts', `@trusted [127.0.0.1]:1 ${goodKey}\n`), code: 2, names: 'known_hosts:1' },
  { name: 'known_hosts with a key that is not base64', args: ['provision', '--step', 'hosts'], setup: replace('known_hosts', `# pinned\n[127.0.0.1]:1 ssh-ed25519 !!!notbase64!!!\n`), code: 2, names: 'known_hosts:2' },
  { name: 'known_hosts a directory', args: ['ssh', 'controller-0'], setup: directoryAt('known_hosts'), code: 2, names: 'known_hosts' },
  { name: 'known_hosts a FIFO', args: ['ssh', 'controller-0'], setup: fifoAt('known_hosts'), code: 2, names: 'known_hosts' },
];
