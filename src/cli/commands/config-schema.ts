import { configJsonSchema } from '../../config/jsonschema.ts';

export async function run(): Promise<number> {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
