// Rendered systemd units run as root: a spec string with a newline would add a directive. The
// templates do not escape (they are plain text a learner reads), so safety is by construction:
// every string that reaches a unit is validated as what it is, and a hostile one never parses.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseSpecText, SpecProblems } from '../../src/spec/load.ts';
import { projectRoot, testRunContext } from '../helpers/context.ts';
import { renderUnit } from '../units/render.ts';
import { merge } from './corpus.ts';

const INJECTED = 'ExecStartPre=/bin/sh -c "id > /tmp/owned"';
/** Line breaks of every kind: refused in every string field. */
const lineBreaks = [`x\n${INJECTED}`, `x\r\n${INJECTED}`, `x\r${INJECTED}`, `x\u2028${INJECTED}`, `x\u0085${INJECTED}`, 'x\u0000'];
/** Also refused where the value is a name, address or version (not free text or a path). */
const hostile = [...lineBreaks, '-x', 'x y', `x;${INJECTED}`, '$(id)'];

const labBase = { name: 'unitsafe', provider: 'lab', nodes: { controllers: { count: 2 }, etcd: { count: 3 } } };
const staticBase = {
  name: 'unitsafe',
  provider: 'static',
  network: { nodeSubnet: '10.240.0.0/24' },
  nodes: {
    controllers: { hosts: [{ name: 'controller-0', address: '10.240.0.10' }] },
    etcd: { hosts: [{ name: 'etcd-0', address: '10.240.0.20' }] },
  },
  loadBalancer: { type: 'haproxy', address: '10.240.0.30' },
};

/** Each string field a unit, config or argv can receive, as a spec fragment for one value. */
const fields: { field: string; base: Record<string, unknown>; spec: (value: string) => Record<string, unknown>; text?: true }[] = [
  { field: 'name', base: labBase, spec: (value) => ({ name: value }) },
  { field: 'loadBalancer.dnsName', base: labBase, spec: (value) => ({ loadBalancer: { dnsName: value } }) },
  { field: 'network.clusterDomain', base: labBase, spec: (value) => ({ network: { clusterDomain: value } }) },
  { field: 'network.serviceCIDR', base: labBase, spec: (value) => ({ network: { serviceCIDR: value } }) },
  { field: 'network.clusterCIDR', base: labBase, spec: (value) => ({ network: { clusterCIDR: value } }) },
  { field: 'versions.kubernetes', base: labBase, spec: (value) => ({ versions: { kubernetes: value } }) },
  { field: 'versions.etcd', base: labBase, spec: (value) => ({ versions: { etcd: value } }) },
  { field: 'pki.extraSANs[0]', base: labBase, spec: (value) => ({ pki: { extraSANs: [value] } }) },
  { field: 'pki.names.O', base: labBase, spec: (value) => ({ pki: { names: { O: value } } }), text: true },
  { field: 'nodes.controllers.ips[0]', base: labBase, spec: (value) => ({ nodes: { controllers: { count: 2, ips: [value, '10.240.0.11'] } } }) },
  { field: 'ssh.user', base: labBase, spec: (value) => ({ ssh: { user: value } }) },
  { field: 'ssh.keyPath', base: labBase, spec: (value) => ({ ssh: { keyPath: value } }), text: true },
  { field: 'unitsDir', base: labBase, spec: (value) => ({ unitsDir: value }), text: true },
  { field: 'artifacts.dir', base: labBase, spec: (value) => ({ artifacts: { dir: value } }), text: true },
  { field: 'lab.suite', base: labBase, spec: (value) => ({ lab: { suite: value } }) },
  { field: 'nodes.controllers.hosts[0].name', base: staticBase, spec: (value) => ({ nodes: { controllers: { hosts: [{ name: value, address: '10.240.0.10' }] } } }) },
  { field: 'nodes.controllers.hosts[0].address', base: staticBase, spec: (value) => ({ nodes: { controllers: { hosts: [{ address: value }] } } }) },
  { field: 'nodes.controllers.hosts[0].ip', base: staticBase, spec: (value) => ({ nodes: { controllers: { hosts: [{ address: '10.240.0.10', ip: value }] } } }) },
  { field: 'nodes.controllers.hosts[0].user', base: staticBase, spec: (value) => ({ nodes: { controllers: { hosts: [{ address: '10.240.0.10', user: value }] } } }) },
  { field: 'loadBalancer.address', base: staticBase, spec: (value) => ({ loadBalancer: { type: 'haproxy', address: value } }) },
  { field: 'ssh.bastion.host', base: staticBase, spec: (value) => ({ ssh: { bastion: { host: value } } }) },
  { field: 'ssh.bastion.user', base: staticBase, spec: (value) => ({ ssh: { bastion: { host: 'jump.example.com', user: value } } }) },
];

const templates = readdirSync(join(projectRoot, 'units')).filter((file) => file.endsWith('.service'));

function renderAll(run: ReturnType<typeof testRunContext>): string[] {
  const nodes = run.inventory.nodes;
  const rendered: string[] = [];
  for (const template of templates) {
    const role = template.startsWith('etcd') ? 'etcd' : 'controller';
    for (const node of role === 'etcd' ? nodes.etcd() : nodes.controllers()) rendered.push(renderUnit(run, template, node));
  }
  return rendered;
}

/** Every line of a unit is a comment, a [Section], a Key=value or an ExecStart continuation. */
function unitLinesAreWellFormed(unit: string): boolean {
  return unit.split('\n').every((line) => line === '' || /^#/.test(line) || /^\[[A-Za-z]+\]$/.test(line) || /^[A-Za-z]+=/.test(line) || /^ {2}--[a-z0-9-]+(=\S*)? \\?$|^ {2}--[a-z0-9-]+(=\S*)?$/.test(line));
}

describe('units are safe by construction', () => {
  it('a spec string bypassing validation would add a directive (why validation is the guard)', () => {
    const run = testRunContext({ spec: labBase as never });
    const unsafe = { ...run, spec: { ...run.spec, name: `x\n${INJECTED}` } };
    expect(renderAll(unsafe).some((unit) => unit.split('\n').some((line) => line.startsWith('ExecStartPre=')))).toBe(true);
  });

  for (const { field, base, spec, text } of fields) {
    it(`refuses hostile values of ${field} at validate time`, () => {
      for (const value of text ? lineBreaks : hostile) {
        let problems: SpecProblems | undefined;
        try {
          parseSpecText(stringify(merge(base, spec(value))), 'cluster.yaml');
        } catch (error) {
          problems = error as SpecProblems;
        }
        expect(problems, `${field} = ${JSON.stringify(value)}`).toBeInstanceOf(SpecProblems);
        expect(problems!.problems.map((problem) => problem.field), `${field} = ${JSON.stringify(value)}`).toContain(field);
      }
    });
  }

  it('renders well-formed units for specs with the widest values validation allows', () => {
    const widest = [
      testRunContext({ spec: merge(labBase, { loadBalancer: { dnsName: `${'a'.repeat(63)}.${'b'.repeat(63)}.example.com` }, pki: { extraSANs: ['*.example.com', '2001:db8::1'] }, network: { clusterDomain: 'k8s.internal' } }) as never }),
      testRunContext({ spec: merge(staticBase, { nodes: { controllers: { hosts: [{ name: 'controller-0', address: 'Node-1.Example.com', ip: '10.240.0.10', user: 'ops_user.1' }] } } }) as never }),
    ];
    for (const run of widest) {
      const units = renderAll(run);
      expect(units.length).toBeGreaterThanOrEqual(4);
      for (const unit of units) {
        expect(unitLinesAreWellFormed(unit), unit).toBe(true);
        expect(unit).not.toContain('ExecStartPre');
      }
    }
  });
});
