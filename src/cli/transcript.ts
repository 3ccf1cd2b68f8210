// --transcript FILE: a bash script of what the run did (or, with --dry-run, would do), per node,
// as a person would type it: ssh/scp with the cluster's key, secrets referenced by path.
import { chmod } from 'node:fs/promises';
import type { TranscriptSink } from '../engine/context.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { LoadedCluster } from './common.ts';

interface Entry {
  step: string;
  task: string;
  node: string | undefined;
  commands: string[];
}

export interface Transcript extends TranscriptSink {
  write(path: string): Promise<void>;
}

/** Why: a learner replays the run by hand; the script is the run's own account of itself. */
export function createTranscript(cluster: LoadedCluster, dryRun: boolean): Transcript {
  const entries: Entry[] = [];
  return {
    add: (entry) => entries.push(entry),
    write: async (path) => {
      const lines = [
        '#!/usr/bin/env bash',
        `# hardway transcript for cluster ${cluster.spec.name}${dryRun ? ' (dry run: what would be done)' : ''}`,
        '# Run from the cluster directory. Secrets are referenced by path, never inlined.',
        'set -euo pipefail',
        `cd "$(dirname "$0")"`,
      ];
      let step = '';
      for (const entry of entries) {
        if (entry.step !== step) {
          step = entry.step;
          lines.push('', `# ==== step ${step} ====`);
        }
        lines.push(`# ${entry.task}${entry.node ? ` (on ${entry.node})` : ''}`, ...entry.commands);
      }
      await writeFileAtomic(path, `${lines.join('\n')}\n`, { mode: 0o755 });
      await chmod(path, 0o755);
    },
  };
}
