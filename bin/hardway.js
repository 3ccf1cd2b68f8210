#!/usr/bin/env node
// Where Node strips TypeScript types itself (22.18+, 24), run the sources so `npx hardway` is never
// stale; older Node 22 releases run the build that `npm ci` made through the `prepare` script.
// A closed pipe (`hardway plan | head`) ends the program quietly, as other command-line tools do.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const entry = process.features.typescript ? '../src/cli/main.ts' : '../dist/cli/main.js';
const { main } = await import(new URL(entry, import.meta.url).href);
process.exitCode = await main(process.argv);
