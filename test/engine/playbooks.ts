// Playbook texts for engine tests, parsed with the test module registry.
import { parsePlaybook, type Playbook } from '../../src/engine/playbook.ts';
import type { ModuleRegistry } from '../../src/modules/module.ts';

export function playbook(modules: ModuleRegistry, text: string, file = 'test.yaml'): Playbook {
  return parsePlaybook(text, file, modules);
}

/** A small graph shaped like hardway's: a local root, a step on all nodes, role steps after it. */
export function sampleTexts(): Record<string, string> {
  return {
    'a-infra.yaml': `step: infra\ntitle: Infra\nhosts: local\ntasks:\n  - name: make\n    note: { key: infra }\n`,
    'b-pki.yaml': `step: pki\ntitle: PKI\nneeds: [infra]\nhosts: local\ntasks:\n  - name: certs\n    note: { key: pki }\n`,
    'c-hosts.yaml': `step: hosts\ntitle: Hosts\nneeds: [infra]\nhosts: all\ntasks:\n  - name: hostname\n    set: { key: hostname, value: "\${node.name}" }\n`,
    'd-etcd.yaml': `step: etcd\ntitle: etcd\nneeds: [pki, hosts]\nhosts: role:etcd\ntasks:\n  - name: cert\n    set: { key: cert, value: v1 }\n    notify: restart etcd\n  - name: unit\n    set: { key: unit, value: v1 }\n    notify: restart etcd\n  - name: health\n    probe: { what: etcd }\n    once: true\nhandlers:\n  - name: restart etcd\n    serial: true\n    tasks:\n      - name: restart\n        restart: { service: etcd }\n`,
    'e-cp.yaml': `step: control-plane\ntitle: Control plane\nneeds: [etcd]\nhosts: role:controller\ntasks:\n  - name: unit\n    set: { key: apiserver, value: v1 }\n`,
  };
}
