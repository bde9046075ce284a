import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/jsonschema.ts';
import { configReference } from '../../src/config/reference.ts';
import { configSchema } from '../../src/config/schema.ts';
import { generatedReadmeBlocks } from '../support/readme-blocks.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('README config reference', () => {
  it('is the one generated from the schema (run "npm run docs:config" to update)', () => {
    expect(readme).toContain(configReference());
  });
  it('carries every generated block as generated (CI templates included)', () => {
    for (const block of generatedReadmeBlocks()) expect(readme).toContain(block.text);
  });
  it('documents every top-level key of the schema', () => {
    for (const key of Object.keys(configSchema.shape)) expect(readme).toContain(`| \`${key}\` |`);
  });
  it('JSON Schema forbids unknown keys, like the validator', () => {
    const s = configJsonSchema() as { additionalProperties?: unknown };
    expect(s.additionalProperties).toBe(false);
  });
});
