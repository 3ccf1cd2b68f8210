// The service module is decided from `systemctl show` output; these fixtures are what systemd 252
// (Debian 12) prints. Real units are exercised on lab nodes, never on the machine running tests.
import { describe, expect, it } from 'vitest';
import { decideService, parseServiceFacts, serviceArgs, serviceFactsCommand, settleVerdict, unitName, type ServiceFacts } from '../../src/modules/service-decision.ts';
import { serviceModule } from '../../src/modules/service.ts';
import { testRunContext } from '../helpers/context.ts';

const SHOW_RUNNING = `LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
NeedDaemonReload=no
InvocationID=6f1c0b2f6a9d4c1e9a0f7b0d2d7c3e11
Result=success
`;
const SHOW_NEW = `LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=disabled
NeedDaemonReload=no
InvocationID=
Result=success
`;
const SHOW_MISSING = `LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
NeedDaemonReload=no
InvocationID=
Result=success
`;

const facts = (text: string, overrides: Partial<ServiceFacts> = {}): ServiceFacts => ({ ...parseServiceFacts(text), ...overrides });
const args = (value: unknown) => serviceArgs.parse(value);
const fresh = { changedUnits: [] as string[], startedThisRun: false };

describe('parseServiceFacts', () => {
  it('reads the properties it asked for', () => {
    expect(parseServiceFacts(SHOW_RUNNING)).toEqual({
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'running',
      UnitFileState: 'enabled',
      NeedDaemonReload: 'no',
      InvocationID: '6f1c0b2f6a9d4c1e9a0f7b0d2d7c3e11',
      Result: 'success',
    });
    expect(serviceFactsCommand('etcd.service')).toBe('systemctl show etcd.service --no-pager -p LoadState -p ActiveState -p SubState -p UnitFileState -p NeedDaemonReload -p InvocationID -p Result');
    expect(unitName('etcd')).toBe('etcd.service');
    expect(unitName('kubelet.socket')).toBe('kubelet.socket');
  });
});

describe('decideService (fixtures)', () => {
  it('is ok on a converged node: running, enabled, no unit changed', () => {
    expect(decideService(facts(SHOW_RUNNING), args({ name: 'etcd', enabled: true, state: 'started' }), fresh)).toEqual({ changed: false, reason: 'etcd.service enabled, running' });
  });

  it('reloads, enables and starts a unit installed by this run', () => {
    const result = decideService(facts(SHOW_NEW, { NeedDaemonReload: 'yes' }), args({ name: 'etcd', enabled: true, state: 'started' }), { changedUnits: ['etcd.service'], startedThisRun: false });
    expect(result).toMatchObject({
      changed: true,
      reason: 'daemon-reload (etcd.service changed), enable etcd.service, start etcd.service (inactive)',
      plan: { unit: 'etcd.service', daemonReload: true, enable: true, action: 'start' },
    });
  });

  it('reloads when systemd says so even if this run changed nothing, without restarting', () => {
    const result = decideService(facts(SHOW_RUNNING, { NeedDaemonReload: 'yes' }), args({ name: 'etcd', state: 'started' }), fresh);
    expect(result).toMatchObject({ changed: true, reason: 'daemon-reload (systemd asks for it)', plan: { daemonReload: true } });
    expect(result.changed && result.plan?.action).toBeUndefined();
  });

  it('does not reload when no unit changed', () => {
    expect(decideService(facts(SHOW_RUNNING), args({ name: 'etcd', state: 'restarted' }), fresh)).toMatchObject({ changed: true, reason: 'restart etcd.service', plan: { daemonReload: false, action: 'restart' } });
  });

  it('reloads a running unit (handler), starts a stopped one, and skips one this run started', () => {
    const reload = args({ name: 'haproxy', state: 'reloaded' });
    expect(decideService(facts(SHOW_RUNNING), reload, fresh)).toMatchObject({ changed: true, reason: 'reload haproxy.service', plan: { daemonReload: false, action: 'reload' } });
    expect(decideService(facts(SHOW_NEW), reload, fresh)).toMatchObject({ changed: true, reason: 'start haproxy.service (inactive; nothing to reload)', plan: { action: 'start' } });
    expect(decideService(facts(SHOW_RUNNING), reload, { changedUnits: [], startedThisRun: true })).toMatchObject({ changed: false });
    const plan = decideService(facts(SHOW_RUNNING), reload, fresh);
    const run = testRunContext();
    expect(plan.changed && serviceModule.describe({ run, node: run.inventory.nodes[0], vars: {} }, reload, plan.plan)).toEqual(['systemctl reload haproxy']);
  });

  it('skips a restart (handler) for a unit this run started fresh', () => {
    expect(decideService(facts(SHOW_RUNNING), args({ name: 'etcd', state: 'restarted' }), { changedUnits: [], startedThisRun: true })).toEqual({
      changed: false,
      reason: 'etcd.service started by this run, no restart needed',
    });
  });

  it('starts a failed unit and says it had failed', () => {
    expect(decideService(facts(SHOW_RUNNING, { ActiveState: 'failed', SubState: 'failed', Result: 'exit-code' }), args({ name: 'etcd', state: 'started' }), fresh)).toMatchObject({
      reason: 'start etcd.service (failed, exit-code)',
    });
  });

  it('treats an activating unit (etcd waiting for quorum) as started', () => {
    expect(decideService(facts(SHOW_RUNNING, { ActiveState: 'activating', SubState: 'start' }), args({ name: 'etcd', state: 'started' }), fresh)).toEqual({ changed: false, reason: 'etcd.service activating' });
  });

  it('stops and disables', () => {
    expect(decideService(facts(SHOW_RUNNING), args({ name: 'etcd', enabled: false, state: 'stopped' }), fresh)).toMatchObject({ reason: 'disable etcd.service, stop etcd.service', plan: { enable: false, action: 'stop' } });
    expect(decideService(facts(SHOW_NEW), args({ name: 'etcd', enabled: false, state: 'stopped' }), fresh)).toEqual({ changed: false, reason: 'etcd.service disabled, stopped' });
  });

  it('refuses a unit that is not installed or masked', () => {
    expect(() => decideService(facts(SHOW_MISSING), args({ name: 'etcd', state: 'started' }), fresh)).toThrow('etcd.service is not installed');
    expect(decideService(facts(SHOW_MISSING), args({ name: 'etcd', state: 'started' }), { changedUnits: ['etcd.service'], startedThisRun: false })).toMatchObject({ changed: true });
    expect(() => decideService(facts(SHOW_RUNNING, { LoadState: 'masked' }), args({ name: 'etcd', state: 'started' }), fresh)).toThrow('etcd.service is masked');
  });
});

describe('settleVerdict (after systemctl --no-block start|restart)', () => {
  const before = facts(SHOW_RUNNING);
  const now = (overrides: Partial<ServiceFacts>) => facts(SHOW_RUNNING, { InvocationID: 'a'.repeat(32), ...overrides });
  it('waits for a new invocation, then accepts active', () => {
    expect(settleVerdict(before, before, false)).toEqual({ done: false });
    expect(settleVerdict(before, now({}), false)).toEqual({ done: true, ok: true, reason: 'running (running)' });
  });
  it('fails fast on a failed unit', () => {
    expect(settleVerdict(before, now({ ActiveState: 'failed', SubState: 'failed', Result: 'exit-code' }), false)).toEqual({ done: true, ok: false, reason: 'failed (exit-code)' });
  });
  it('accepts a Type=notify unit still activating once the settle time is over', () => {
    const activating = now({ ActiveState: 'activating', SubState: 'start' });
    expect(settleVerdict(before, activating, false)).toEqual({ done: false });
    expect(settleVerdict(before, activating, true)).toMatchObject({ done: true, ok: true, reason: expect.stringContaining('still activating') });
  });
  it('fails a crash loop (activating/auto-restart) instead of taking it for a slow start', () => {
    const looping = now({ ActiveState: 'activating', SubState: 'auto-restart', Result: 'exit-code' });
    expect(settleVerdict(before, looping, false)).toEqual({ done: true, ok: false, reason: 'keeps exiting (exit-code); systemd is restarting it' });
  });
  it('reports a unit that never started', () => {
    expect(settleVerdict(facts(SHOW_NEW), facts(SHOW_NEW), true)).toEqual({ done: true, ok: false, reason: 'did not start (inactive/dead, result success)' });
  });
});

describe('service describe', () => {
  it('prints systemctl lines', () => {
    const run = testRunContext();
    const ctx = { run, node: run.inventory.nodes[0], vars: {} };
    expect(serviceModule.describe(ctx, args({ name: 'etcd', enabled: true, state: 'started' }))).toEqual(['systemctl daemon-reload', 'systemctl enable etcd', 'systemctl --no-block start etcd', "timeout 10 sh -c 'until systemctl is-active -q etcd.service; do sleep 0.25; done' || true"]);
    expect(serviceModule.describe(ctx, args({ name: 'etcd.service', state: 'restarted' }))).toEqual(['systemctl --no-block restart etcd', "timeout 10 sh -c 'until systemctl is-active -q etcd.service; do sleep 0.25; done' || true"]);
  });
  it("prints check's plan: an enabled unit that only stopped gets a start, nothing else", () => {
    const run = testRunContext();
    const ctx = { run, node: run.inventory.nodes[0], vars: {} };
    const wanted = args({ name: 'etcd', enabled: true, state: 'started' });
    const stopped = decideService(facts(SHOW_NEW, { UnitFileState: 'enabled' }), wanted, fresh);
    expect(stopped.changed && serviceModule.describe(ctx, wanted, stopped.plan)).toEqual(['systemctl --no-block start etcd', "timeout 10 sh -c 'until systemctl is-active -q etcd.service; do sleep 0.25; done' || true"]);
    const reloadOnly = decideService(facts(SHOW_RUNNING, { NeedDaemonReload: 'yes' }), args({ name: 'etcd', state: 'started' }), fresh);
    expect(reloadOnly.changed && serviceModule.describe(ctx, wanted, reloadOnly.plan)).toEqual(['systemctl daemon-reload']);
  });
});
