// `npm run bench`: every benchmark in turn, each printing its figures next to a peer measured in
// the same run (openssl, scp, OpenSSH, Ansible). Lab benchmarks need root; without it they are reported as
// not run, never as figures.
import { benchPki, formatPkiBench } from './pki.ts';
import { formatTransferBench, transferBench } from './transfer.ts';

const isRoot = process.platform === 'linux' && process.geteuid?.() === 0;

// Start-up first, on a quiet machine: `hardway --version` and `validate` against `node -e 0`.
await import('./startup.ts');
console.log(formatPkiBench(await benchPki(3, 2048)));
console.log(formatTransferBench(await transferBench({ sizeMB: 200, rounds: 3 })));
if (isRoot) {
  const { benchProvision, formatProvisionBench } = await import('./provision.ts');
  console.log(formatProvisionBench(await benchProvision([3, 12, 30], 3)));
  const { benchRebuild, formatRebuildBench } = await import('./rebuild.ts');
  console.log(formatRebuildBench(await benchRebuild(3)));
  const { benchAnsible } = await import('./ansible.ts');
  await benchAnsible(3);
} else {
  console.log('provision, rebuild and Ansible benchmarks: not run (they build lab clusters and need root)');
}
