// What the lab records under `provider.lab` in state.json: enough for a person (and status) to see
// what runs where. Nothing depends on it being right: the lab re-reads the system itself.
import type { StateStore } from '../../engine/state.ts';

export interface LabNodeRecord {
  ip: string;
  /** The systemd-nspawn process. */
  pid: number;
  machine: string;
  netns: string;
  veth: string;
  /** The node's root filesystem on this machine. */
  root: string;
  startedAt: string;
}

export interface LabStateRecord {
  bridge: string;
  subnet: string;
  image: string;
  runtimeDir: string;
  nodes: Record<string, LabNodeRecord>;
}

export function readLabState(state: StateStore): LabStateRecord | undefined {
  return state.data.provider.lab as LabStateRecord | undefined;
}

/** Why: one writer for the lab's part of the state; updates are queued by the store. */
export function recordLab(state: StateStore, change: (lab: LabStateRecord | undefined) => LabStateRecord | undefined): Promise<void> {
  return state.update((draft) => {
    const next = change(draft.provider.lab as LabStateRecord | undefined);
    if (next) draft.provider.lab = next;
    else delete draft.provider.lab;
  });
}
