// What resolving an artifact yields: a verified local file the binaries step uploads.
import type { ArtifactName } from './catalog.ts';

export interface ResolvedArtifact {
  name: ArtifactName;
  /** A local file whose content has the sha256 below. */
  path: string;
  sha256: string;
  /** Where it came from: the upstream URL, or the artifacts directory's file. */
  origin: string;
  /** downloaded this run, reused from the cache, or taken from --artifacts-dir. */
  from: 'download' | 'cache' | 'directory';
}
