// ssh2, loaded the first time a connection opens or a key is read: commands that never connect
// (validate, plan, explain) start without its ~100 ms of module loading (bench/startup.ts).
import { createRequire } from 'node:module';
import type ssh2 from 'ssh2';

const require = createRequire(import.meta.url);

/** Why: a synchronous lazy load (ssh2 is CommonJS) keeps key parsing synchronous. */
export function ssh2Library(): typeof ssh2 {
  return require('ssh2') as typeof ssh2;
}
