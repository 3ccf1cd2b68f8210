// A small unified diff for `plan --diff` of rendered units and config files (a few hundred lines).

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Why: a learner sees exactly which flag of a unit changes before anything is restarted. */
export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 4_000_000) return `--- ${labels.before}\n+++ ${labels.after}\n(too large to diff: ${a.length} -> ${b.length} lines)`;
  const ops = lineOps(a, b);
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter((index) => index >= 0);
  if (!changed.length) return '';

  const hunks: string[] = [];
  let start = 0;
  while (start < changed.length) {
    let end = start;
    while (end + 1 < changed.length && changed[end + 1]! - changed[end]! <= context * 2) end++;
    const from = Math.max(0, changed[start]! - context);
    const to = Math.min(ops.length, changed[end]! + context + 1);
    const prefix = ops.slice(0, from);
    const oldStart = prefix.filter((op) => op.kind !== '+').length + 1;
    const newStart = prefix.filter((op) => op.kind !== '-').length + 1;
    const body = ops.slice(from, to);
    const oldCount = body.filter((op) => op.kind !== '+').length;
    const newCount = body.filter((op) => op.kind !== '-').length;
    hunks.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`, ...body.map((op) => `${op.kind}${op.line}`));
    start = end + 1;
  }
  return [`--- ${labels.before}`, `+++ ${labels.after}`, ...hunks].join('\n');
}

/** Longest-common-subsequence edit script, removals before additions. */
function lineOps(a: string[], b: string[]): Op[] {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const lengths = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * cols + j] = a[i] === b[j] ? lengths[(i + 1) * cols + j + 1]! + 1 : Math.max(lengths[(i + 1) * cols + j]!, lengths[i * cols + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i]! });
      i++;
      j++;
    } else if (lengths[(i + 1) * cols + j]! >= lengths[i * cols + j + 1]!) {
      ops.push({ kind: '-', line: a[i++]! });
    } else {
      ops.push({ kind: '+', line: b[j++]! });
    }
  }
  while (i < a.length) ops.push({ kind: '-', line: a[i++]! });
  while (j < b.length) ops.push({ kind: '+', line: b[j++]! });
  return ops;
}
