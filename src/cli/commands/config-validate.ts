import { formatDiagnostic } from '../../config/diagnostics.ts';
import { CONFIG_FILE, checkConfigFile, findConfigFile } from '../../config/load.ts';
import { badInput, EXIT_BAD_INPUT } from '../../errors.ts';
import { green } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

export async function run(_opts: unknown, args: string[], global: GlobalOptions): Promise<number> {
  const file = args[0] ?? global.config ?? findConfigFile();
  if (!file)
    throw badInput(`no ${CONFIG_FILE} in ${process.cwd()} or its parents. Run "devenv init" to write one.`);
  const result = checkConfigFile(file);
  if (result.ok) {
    process.stdout.write(
      `${green('ok')} ${file}: project "${result.config.project}", ${result.config.services.length} service(s)\n`,
    );
    return 0;
  }
  for (const d of result.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  const n = result.diagnostics.length;
  process.stderr.write(`${n} problem${n === 1 ? '' : 's'} found.\n`);
  return EXIT_BAD_INPUT;
}
