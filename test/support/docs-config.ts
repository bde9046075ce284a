/** `npm run docs:config`: rewrites the config reference between the README's markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEGIN, configReference, END } from '../../src/config/reference.ts';

const readme = join(import.meta.dirname, '..', '..', 'README.md');
const text = readFileSync(readme, 'utf8');
const a = text.indexOf(BEGIN);
const b = text.indexOf(END);
if (a < 0 || b < 0) throw new Error('README.md has no config-reference markers');
writeFileSync(readme, text.slice(0, a) + configReference() + text.slice(b + END.length));
console.log('README.md config reference updated');
