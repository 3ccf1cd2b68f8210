// Phases of a step and what a node runs after one: what the read-ahead reads for beyond the phase
// at hand (a node's later steps, never a `once` task, never a step it takes no part in).
import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/inventory/node.ts';
import { laterTasks, phases } from '../../src/engine/phases.ts';
import type { PlaybookTask } from '../../src/engine/playbook.ts';
import type { SelectedStep } from '../../src/engine/select.ts';

const task = (name: string, once = false) => ({ name, module: 'copy', args: {}, notify: [], once }) as unknown as PlaybookTask;
const node = (name: string) => ({ name, roles: ['worker'], internalIP: '10.0.0.1', sshAddress: '10.0.0.1', sshPort: 22, user: 'root' }) as Node;
const step = (name: string, tasks: PlaybookTask[], nodes: Node[], local = false) => ({ playbook: { step: name, tasks, handlers: [] }, nodes, local, asDependency: false }) as unknown as SelectedStep;

describe('phases', () => {
  it('splits a step at its once tasks', () => {
    const [a, b, barrier, c] = [task('a'), task('b'), task('barrier', true), task('c')];
    expect(phases([a!, b!, barrier!, c!])).toEqual([[a, b], barrier, [c]]);
    expect(phases([barrier!])).toEqual([barrier]);
  });
});

describe('laterTasks', () => {
  it('lists the rest of the step and the later steps the node takes part in, without once tasks or local steps', () => {
    const [w0, w1] = [node('worker-0'), node('worker-1')];
    const current = step('hosts', [task('h1'), task('h2', true), task('h3')], [w0, w1]);
    const later = [step('pki', [task('p1')], [], true), step('etcd', [task('e1')], [w1]), step('workers', [task('k1', true), task('k2')], [w0, w1])];
    const names = (tasks: ReturnType<typeof laterTasks>) => tasks.map((entry) => `${entry.step}:${entry.task.name}`);
    const rest = phases(current.playbook.tasks).slice(1);
    expect(names(laterTasks(current, later, rest, w0))).toEqual(['hosts:h3', 'workers:k2']);
    expect(names(laterTasks(current, later, rest, w1))).toEqual(['hosts:h3', 'etcd:e1', 'workers:k2']);
  });
});
