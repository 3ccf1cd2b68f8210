#!/usr/bin/env node
// The `hardway` command. Written so that any Node that can load an ES module parses it (18, 20):
// the Node version is checked before anything else is loaded, with one line and exit 3.
//
// Which code runs:
// - installed from the registry or a packed tarball (this file under node_modules/): dist/, the
//   build `npm pack` made (Node refuses to strip TypeScript types under node_modules);
// - in a development checkout: src/*.ts where Node strips types itself (22.18+, 24), so it is
//   never stale; dist/ (made by `npm ci` through the `prepare` script) on older Node 22 releases.
// HARDWAY_ENTRY=dist or HARDWAY_ENTRY=src overrides the choice (benchmarks, debugging a build).

// Keep equal to "engines" in package.json (test/package/ checks that they agree).
const MIN_NODE_MAJOR = 22;
const found = process.versions.node;
if (Number(found.split('.')[0]) < MIN_NODE_MAJOR) {
  process.stderr.write(`hardway needs Node.js >= ${MIN_NODE_MAJOR} (22 or 24), but this is Node.js v${found} (${process.execPath}); install Node 24 and run it again.\n`);
  process.exit(3);
}

// A closed pipe (`hardway plan | head`) ends the program quietly, as other command-line tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const { readFileSync, existsSync } = await import('node:fs');
const { fileURLToPath } = await import('node:url');
const root = new URL('../', import.meta.url);
const args = process.argv.slice(2);

// `hardway --version` answers from package.json alone: nothing else needs to load for it.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).version}\n`);
  process.exit(0);
}

// Node keeps the compiled (and type-stripped) modules in its compile cache between runs, which
// roughly halves the start of every command; a cache it cannot write is skipped silently.
try {
  const { enableCompileCache } = await import('node:module');
  enableCompileCache?.();
} catch {
  // Not available in this Node release: start without the cache.
}

const installed = fileURLToPath(root).split(/[\\/]/).includes('node_modules');
const dist = new URL('dist/cli/main.js', root);
const requested = process.env.HARDWAY_ENTRY;
const useSource = requested === 'src' || (requested !== 'dist' && !installed && process.features.typescript !== undefined && process.features.typescript !== false);
if (!useSource && !existsSync(dist)) {
  const fix = installed ? 'reinstall it from the registry or a tarball made by `npm pack`' : 'run `npm run build` (or `npm ci`) in the checkout';
  process.stderr.write(`hardway: ${fileURLToPath(dist)} is missing (Node.js v${found} runs the build); ${fix}.\n`);
  process.exit(3);
}
const { main } = await import(useSource ? new URL('src/cli/main.ts', root).href : dist.href);
process.exitCode = await main(process.argv);
