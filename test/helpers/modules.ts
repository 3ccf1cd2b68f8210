// A test-only module registry: modules that keep each node's "world" in memory, so engine tests
// run real listr2 and real playbooks without machines.
import { z } from 'zod';
import { defineModule, ModuleRegistry } from '../../src/modules/module.ts';

export interface World {
  /** node -> key -> value */
  values: Map<string, Map<string, string>>;
  /** Every apply, in order: "node:task". */
  calls: string[];
  /** Tasks running right now, and the most ever at once. */
  inFlight: number;
  maxInFlight: number;
  /** The most restarts ever running at once (serial handlers keep it at 1). */
  maxRestartsInFlight: number;
  restartsInFlight: number;
}

export function newWorld(): World {
  return { values: new Map(), calls: [], inFlight: 0, maxInFlight: 0, restartsInFlight: 0, maxRestartsInFlight: 0 };
}

function nodeValues(world: World, node: string): Map<string, string> {
  let values = world.values.get(node);
  if (!values) {
    values = new Map();
    world.values.set(node, values);
  }
  return values;
}

export function testModules(world: World): ModuleRegistry {
  const set = defineModule({
    name: 'set',
    where: 'remote',
    summary: 'set a key on the node',
    args: z.strictObject({ key: z.string(), value: z.string(), delayMs: z.number().default(0) }),
    async check(ctx, args) {
      const current = nodeValues(world, ctx.node!.name).get(args.key);
      return current === args.value ? { changed: false, reason: `${args.key} is ${args.value}` } : { changed: true, reason: `${args.key}: ${current ?? 'unset'} -> ${args.value}` };
    },
    async apply(ctx, args) {
      world.inFlight += 1;
      world.maxInFlight = Math.max(world.maxInFlight, world.inFlight);
      await new Promise((resolve) => setTimeout(resolve, args.delayMs));
      world.inFlight -= 1;
      nodeValues(world, ctx.node!.name).set(args.key, args.value);
      world.calls.push(`${ctx.node!.name}:${ctx.task}`);
    },
    describe: (_ctx, args) => [`echo ${args.value} > /tmp/${args.key}`],
  });
  const restart = defineModule({
    name: 'restart',
    where: 'remote',
    summary: 'count a restart',
    args: z.strictObject({ service: z.string() }),
    async check(_ctx, args) {
      return { changed: true, reason: `restart ${args.service}` };
    },
    async apply(ctx, args) {
      world.restartsInFlight += 1;
      world.maxRestartsInFlight = Math.max(world.maxRestartsInFlight, world.restartsInFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      world.restartsInFlight -= 1;
      world.calls.push(`${ctx.node!.name}:restart ${args.service}`);
    },
    describe: (_ctx, args) => [`systemctl restart ${args.service}`],
  });
  const probe = defineModule({
    name: 'probe',
    where: 'remote',
    summary: 'observe without changing',
    args: z.strictObject({ what: z.string() }),
    async check(_ctx, args) {
      return { changed: true, probe: true, reason: `wait for ${args.what}` };
    },
    async apply(ctx, args) {
      world.calls.push(`${ctx.node!.name}:probe ${args.what}`);
      return { changed: false, reason: `${args.what} healthy` };
    },
    describe: (_ctx, args) => [`# wait for ${args.what}`],
  });
  const fail = defineModule({
    name: 'fail',
    where: 'remote',
    summary: 'fail on the listed nodes',
    args: z.strictObject({ on: z.array(z.string()) }),
    async check(ctx, args) {
      if (args.on.includes(ctx.node!.name)) throw new Error(`boom on ${ctx.node!.name}`);
      return { changed: false, reason: 'fine here' };
    },
    async apply() {},
    describe: () => [],
  });
  const note = defineModule({
    name: 'note',
    where: 'local',
    summary: 'record a local call',
    args: z.strictObject({ key: z.string() }),
    async check(_ctx, args) {
      return nodeValues(world, 'local').has(args.key) ? { changed: false, reason: 'noted already' } : { changed: true, reason: 'not noted' };
    },
    async apply(_ctx, args) {
      nodeValues(world, 'local').set(args.key, 'yes');
      world.calls.push(`local:${args.key}`);
    },
    describe: (_ctx, args) => [`touch ${args.key}`],
  });
  return new ModuleRegistry([set, restart, probe, fail, note]);
}
