/** The JSON Schema of devenv.yaml, derived from the zod schema (the single source). */
import { z } from 'zod';
import { configSchema } from './schema.ts';

export const SCHEMA_ID = 'https://devenv.dev/schema/v1alpha1/devenv.json';

export function configJsonSchema(): Record<string, unknown> {
  // io: 'input' describes what users WRITE (defaults make keys optional), not the parsed result.
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { $id: SCHEMA_ID, title: 'devenv.yaml', ...schema };
}
