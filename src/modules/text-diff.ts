// A unified diff for `plan --diff` of rendered units and config files, from jsdiff's hunks.
import { structuredPatch } from 'diff';

/** Why: a learner sees exactly which flag of a unit changes before anything is restarted. */
export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }, context = 3): string {
  if (before === after) return '';
  // Lines are compared, not the newline at the end of the file (which jsdiff would mark on its own).
  const lines = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  const patch = structuredPatch(labels.before, labels.after, lines(before), lines(after), undefined, undefined, { context });
  if (!patch.hunks.length) return '';
  const hunks = patch.hunks.flatMap((hunk) => [`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines]);
  return [`--- ${labels.before}`, `+++ ${labels.after}`, ...hunks].join('\n');
}
