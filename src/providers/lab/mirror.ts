// The Debian mirror for the node image: the spec's lab.mirror, else the one this machine's apt
// already uses (one-line *.list or deb822 *.sources), so a machine behind its own mirror keeps
// using it and no host is hard-coded.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrerequisiteError } from '../../errors.ts';

export interface AptSource {
  file: string;
  types: string[];
  uris: string[];
  suites: string[];
  enabled: boolean;
}

/** Parse one sources file; `.sources` files are deb822 stanzas, anything else one-line format. */
export function parseAptSources(file: string, text: string): AptSource[] {
  return file.endsWith('.sources') ? parseDeb822(file, text) : parseOneLine(file, text);
}

function parseOneLine(file: string, text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    // deb [arch=amd64 signed-by=...] URI SUITE COMPONENT...
    const withoutOptions = line.replace(/\[[^\]]*\]/, ' ');
    const [type, uri, suite] = withoutOptions.split(/\s+/);
    if (!type || !uri || !suite) continue;
    sources.push({ file, types: [type], uris: [uri], suites: [suite], enabled: true });
  }
  return sources;
}

function parseDeb822(file: string, text: string): AptSource[] {
  const sources: AptSource[] = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let current: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && current) {
        fields.set(current, `${fields.get(current) ?? ''} ${raw.trim()}`);
        continue;
      }
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (!match) continue;
      current = match[1]!.toLowerCase();
      fields.set(current, match[2]!.trim());
    }
    const words = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    if (!fields.has('uris')) continue;
    const enabled = (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no';
    sources.push({ file, types: words('types'), uris: words('uris'), suites: words('suites'), enabled });
  }
  return sources;
}

/**
 * Pick the archive mirror: a binary (`deb`) source listing the wanted suite, else any source that
 * looks like the Debian archive (path ending in /debian). Security and third-party repositories
 * never qualify: they do not carry the base system debootstrap needs.
 */
export function chooseMirror(sources: AptSource[], suite: string): string | undefined {
  const candidates = sources.filter((source) => source.enabled && source.types.includes('deb'));
  const archive = (uri: string) => /^(https?|file):\/\//.test(uri) && !/security/.test(uri);
  for (const source of candidates) {
    if (!source.suites.includes(suite)) continue;
    const uri = source.uris.find(archive);
    if (uri) return uri.replace(/\/+$/, '');
  }
  for (const source of candidates) {
    const uri = source.uris.find((candidate) => archive(candidate) && /\/debian\/?$/.test(candidate));
    if (uri) return uri.replace(/\/+$/, '');
  }
  return undefined;
}

/** Why: the image must come from a mirror this machine can reach; apt's own config knows it. */
export async function resolveMirror(specMirror: string | undefined, suite: string, aptDir = '/etc/apt'): Promise<string> {
  if (specMirror) return specMirror.replace(/\/+$/, '');
  const files = [join(aptDir, 'sources.list')];
  const listDir = join(aptDir, 'sources.list.d');
  const names = await readdir(listDir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(listDir, name));
  }
  const sources: AptSource[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) sources.push(...parseAptSources(file, text));
  }
  const mirror = chooseMirror(sources, suite);
  if (!mirror) {
    throw new PrerequisiteError(`no Debian mirror found in ${files.join(', ')} for the lab's node image (suite ${suite})`, {
      hint: 'Set lab.mirror in cluster.yaml to a Debian mirror URL this machine can reach, e.g. the one apt uses.',
    });
  }
  return mirror;
}
