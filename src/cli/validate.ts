// `hardway validate`: the spec's schema and consistency, and the playbooks, checked without
// connecting anywhere.
import type { Command } from 'commander';
import { openCluster, globalOptions, type CliIO } from './common.ts';
import { loadStepOrder } from './steps.ts';

export function registerValidateCommand(program: Command, io: CliIO): void {
  program
    .command('validate')
    .description('check the spec and its consistency (CIDRs, SANs, names); no connections')
    .addHelpText('after', '\nExample:\n  hardway validate -c examples/lab/cluster.yaml')
    .action(async (_options, command: Command) => {
      const options = globalOptions(command);
      const cluster = await openCluster(options, io);
      const graph = await loadStepOrder();
      const nodes = cluster.inventory.nodes;
      if (options.json) {
        io.stdout(`${JSON.stringify({ valid: true, warnings: cluster.warnings, inventory: cluster.inventory, steps: graph.ordered.map((step) => step.step) }, null, 2)}\n`);
        return;
      }
      io.stdout(`${options.config} is valid: cluster ${cluster.spec.name}, provider ${cluster.spec.provider}, ${cluster.spec.topology} etcd\n`);
      for (const node of nodes) io.stdout(`  ${node.name.padEnd(14)} ${node.internalIP.padEnd(15)} ${node.roles.join(',')}\n`);
      const host = cluster.inventory.endpoint.host || "<the NLB's DNS name, known after the infra step>";
      io.stdout(`  API endpoint https://${host}:${cluster.inventory.endpoint.port}\n`);
      io.stdout(`steps: ${graph.ordered.map((step) => step.step).join(' -> ')}\n`);
      if (cluster.warnings.length) io.stdout(`${cluster.warnings.length} warning(s), printed above\n`);
    });
}
