// The loadbalancer module's haproxy plan: decided from one facts line, carried out and shown as the
// same commands (a stopped haproxy with the right config is only started; a new config is checked
// with haproxy -c and reloaded into a running haproxy or starts a stopped one).
import { describe, expect, it } from 'vitest';
import { sha256Buffer } from '../../src/artifacts/checksum.ts';
import { decideHaproxy, loadBalancerModule } from '../../src/modules/loadbalancer.ts';
import { testRunContext } from '../helpers/context.ts';

const run = testRunContext();
const lb = run.inventory.nodes.lb()[0]!;
const config = Buffer.from('global\n  maxconn 100\n');
const ctx = { run, node: undefined, vars: {} };

describe('haproxy plan (fixtures)', () => {
  it('changes nothing when the config matches and haproxy is enabled and running', () => {
    expect(decideHaproxy(lb, config, `${sha256Buffer(config)}\nenabled\nactive\n`)).toMatchObject({ configChanged: false, enable: false, start: false });
  });
  it('only starts a stopped haproxy whose config is right', () => {
    const plan = decideHaproxy(lb, config, `${sha256Buffer(config)}\nenabled\ninactive\n`);
    expect(plan).toMatchObject({ configChanged: false, enable: false, start: true });
    expect(loadBalancerModule.describe(ctx, {}, { kind: 'haproxy', nodes: [plan] })).toEqual(['# on lb-0:', 'systemctl start haproxy']);
  });
  it('stages, checks, moves and reloads a changed config', () => {
    const plan = decideHaproxy(lb, config, `${'0'.repeat(64)}\nenabled\nactive\n`);
    const lines = loadBalancerModule.describe(ctx, {}, { kind: 'haproxy', nodes: [plan] });
    expect(lines[0]).toBe('# on lb-0:');
    expect(lines.slice(-3)).toEqual(['haproxy -c -f /etc/haproxy/haproxy.cfg.hardway-new', 'mv -f /etc/haproxy/haproxy.cfg.hardway-new /etc/haproxy/haproxy.cfg', 'systemctl reload-or-restart haproxy']);
    expect(lines.some((line) => line.startsWith("cat > /etc/haproxy/haproxy.cfg.hardway-new <<'EOF'\nglobal\n  maxconn 100\n"))).toBe(true);
    expect(lines).not.toContain('systemctl enable haproxy');
  });
  it('shows a node never read everything: the rendered config, enable, and (re)load', () => {
    const lines = loadBalancerModule.describe(ctx, {});
    expect(lines.slice(-2)).toEqual(['systemctl enable haproxy', 'systemctl reload-or-restart haproxy']);
    expect(lines.join('\n')).toContain('option httpchk GET /readyz');
  });
});
