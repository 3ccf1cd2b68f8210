// Parsing `etcdctl endpoint health`: one line per endpoint, healthy ones on stdout and unhealthy
// ones on stderr among client log lines, so both streams are read and only matching lines count.

/** One endpoint's verdict. */
export interface EndpointHealth {
  healthy: boolean;
  /** What etcdctl said after the verdict, e.g. `failed to commit proposal: context deadline exceeded`. */
  detail: string;
}

const LINE = /^(\S+) is (healthy|unhealthy)(?::\s*(.*))?$/;

/** Why: preflight refuses when another member is unhealthy; this is how it knows which one. */
export function parseEndpointHealth(text: string): Map<string, EndpointHealth> {
  const result = new Map<string, EndpointHealth>();
  for (const raw of text.split('\n')) {
    const match = LINE.exec(raw.trim());
    if (!match) continue;
    result.set(match[1]!, { healthy: match[2] === 'healthy', detail: (match[3] ?? '').trim() });
  }
  return result;
}
