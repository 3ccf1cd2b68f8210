// Rewrites every `$ hardway explain|validate|plan ...` console block in docs/ with what the
// command prints now (those commands connect nowhere).
// Run it after changing a playbook, a unit or a module's describe():
//   node test/docs/update-explain.ts
// The docs test fails while any block differs from the real output.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { currentOutput, docsFiles, explainBlocks, readDoc, repoRoot } from './explain-blocks.ts';

let updated = 0;
for (const file of await docsFiles()) {
  const markdown = await readDoc(file);
  let next = markdown;
  // From the last block to the first, so earlier offsets stay valid.
  for (const block of explainBlocks(file, markdown).reverse()) {
    const output = await currentOutput(block.args);
    if (output === block.written) continue;
    next = `${next.slice(0, block.start)}${output}${next.slice(block.end)}`;
    updated++;
    process.stdout.write(`${file}:${block.line}: hardway ${block.args.join(' ')}\n`);
  }
  if (next !== markdown) await writeFile(join(repoRoot, file), next);
}
process.stdout.write(`${updated} block(s) updated\n`);
