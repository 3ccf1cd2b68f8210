import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/engine/graph.ts';
import { SpecError } from '../../src/errors.ts';
import { newWorld, testModules } from '../helpers/modules.ts';
import { playbook, sampleTexts } from './playbooks.ts';

const modules = testModules(newWorld());
const step = (name: string, needs: string[]) => playbook(modules, `step: ${name}\ntitle: ${name}\nneeds: [${needs.join(', ')}]\nhosts: local\ntasks:\n  - name: t\n    note: { key: ${name} }\n`, `${name}.yaml`);

describe('buildGraph', () => {
  it('orders steps by needs, and by file order among steps ready together', () => {
    const texts = sampleTexts();
    const books = Object.entries(texts).map(([file, text]) => playbook(modules, text, file));
    expect(buildGraph(books).ordered.map((book) => book.step)).toEqual(['infra', 'pki', 'hosts', 'etcd', 'control-plane']);
    // Listed backwards, needs still put infra first; the rest keep file order where free.
    expect(buildGraph([...books].reverse()).ordered.map((book) => book.step)).toEqual(['infra', 'hosts', 'pki', 'etcd', 'control-plane']);
  });

  it('names the step and the missing need', () => {
    expect(() => buildGraph([step('a', ['nope'])])).toThrow(/step "a" needs "nope", which no playbook defines/);
  });

  it('reports a cycle with its path', () => {
    const error = (() => {
      try {
        buildGraph([step('a', ['c']), step('b', ['a']), step('c', ['b']), step('d', [])]);
      } catch (caught) {
        return caught as SpecError;
      }
    })();
    expect(error).toBeInstanceOf(SpecError);
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toMatch(/cycle: a -> c -> b -> a/);
  });

  it('refuses a step defined twice', () => {
    expect(() => buildGraph([step('a', []), step('a', [])])).toThrow(/"a" is defined twice/);
  });

  it('lists every ancestor', () => {
    const books = Object.entries(sampleTexts()).map(([file, text]) => playbook(modules, text, file));
    expect([...buildGraph(books).ancestors('control-plane')].sort()).toEqual(['etcd', 'hosts', 'infra', 'pki']);
  });
});
