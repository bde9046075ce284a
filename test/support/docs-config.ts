/** `npm run docs:config`: rewrites the generated parts of the README between their markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedReadmeBlocks } from './readme-blocks.ts';

const readme = join(import.meta.dirname, '..', '..', 'README.md');
let text = readFileSync(readme, 'utf8');
for (const block of generatedReadmeBlocks()) {
  const a = text.indexOf(block.begin);
  const b = text.indexOf(block.end);
  if (a < 0 || b < 0) throw new Error(`README.md has no ${block.begin} markers`);
  text = text.slice(0, a) + block.text + text.slice(b + block.end.length);
}
writeFileSync(readme, text);
console.log('README.md generated sections updated');
