import { describe, expect, it } from 'vitest';
import { importedArchiveSha } from '../../src/modules/image.ts';

// `ctr -n k8s.io images ls name==...` as containerd 1.6 prints it.
const listing = `REF                     TYPE                                                 DIGEST                                                                  SIZE    PLATFORMS   LABELS
k8s.gcr.io/pause:3.2    application/vnd.docker.distribution.manifest.v2+json sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0 300.0 KiB linux/amd64 hardway.archive-sha256=abc123,io.cri-containerd.image=managed
`;

describe('image: what containerd already has', () => {
  it('reads the archive label of the listed image', () => {
    expect(importedArchiveSha(listing, 'k8s.gcr.io/pause:3.2')).toBe('abc123');
  });

  it('an image imported without the label is present but unknown; a missing one is undefined', () => {
    expect(importedArchiveSha(listing.replace('hardway.archive-sha256=abc123,', ''), 'k8s.gcr.io/pause:3.2')).toBe('');
    expect(importedArchiveSha(listing, 'hardway.local/smoke:1.0')).toBeUndefined();
  });
});
