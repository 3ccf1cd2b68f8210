// node-forge, loaded the first time a certificate is issued or read: commands that touch no
// certificate (validate, explain) start without it (bench/startup.ts).
import { createRequire } from 'node:module';
import type forge from 'node-forge';

const require = createRequire(import.meta.url);

/** Why: a synchronous lazy load (node-forge is CommonJS) keeps the certificate code synchronous. */
export function forgeLibrary(): typeof forge {
  return require('node-forge') as typeof forge;
}
