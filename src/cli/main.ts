/**
 * The command tree. Thin by design (Skaffold-style): each command parses its flags and
 * hands them to a runner in cli/commands/<name>.ts, which is imported only when the
 * command runs, so `devenv --help` never loads the Kubernetes client, dockerode or blessed.
 */
import { Command, CommanderError, Option } from 'commander';
import { DevenvError, EXIT_BAD_INPUT, EXIT_FAILURE } from '../errors.ts';
import { errorLine } from '../tui/color.ts';

import type { GlobalOptions } from './options.ts';

type Runner = (
  opts: Record<string, unknown>,
  args: string[],
  global: GlobalOptions,
) => Promise<number | undefined>;

/** Wraps a lazily imported runner as a commander action. */
function lazy(load: () => Promise<{ run: Runner }>) {
  return async (...argv: unknown[]): Promise<void> => {
    const cmd = argv[argv.length - 1] as Command;
    const opts = cmd.opts();
    const args = cmd.args;
    const global = cmd.optsWithGlobals() as GlobalOptions;
    const mod = await load();
    const code = await mod.run(opts, args, global);
    if (code) process.exitCode = code;
  };
}

export function buildProgram(): Command {
  const program = new Command('devenv')
    .description('Production-shaped Kubernetes environments on your laptop and in nightly CI.')
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'path to devenv.yaml (default: nearest devenv.yaml upwards from here)')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    .exitOverride();

  addLifecycleCommands(program);
  addServiceCommands(program);
  addDataCommands(program);
  addSetupCommands(program);
  addConfigCommands(program);
  addPrereleaseCommands(program);
  return program;
}

/** up, down, destroy, status: the environment as a whole. */
function addLifecycleCommands(program: Command): void {
  program
    .command('up')
    .description('create or update the cluster, data services and every service; then watch and reload')
    .option('--no-tui', 'plain progress lines instead of the dashboard')
    .option('--no-watch', 'exit once everything is up instead of watching for changes')
    .option('--context <ctx>', 'deploy to this existing cluster context (must be in cluster.allowContexts)')
    .option('--kubeconfig <file>', 'kubeconfig file for --context (default: $KUBECONFIG, ~/.kube/config)')
    .option(
      '--switch-object-store',
      "start objectStore.engine even though another engine's volumes hold the project's objects (they are kept)",
    )
    .action(lazy(() => import('./commands/up.ts')));
  program
    .command('down')
    .description('stop the cluster and data containers; keep data')
    .option(
      '--context <ctx>',
      'an allow-listed existing cluster: it is left running; only data containers stop',
    )
    .option('--kubeconfig <file>', 'kubeconfig file for --context')
    .action(lazy(() => import('./commands/lifecycle.ts').then((m) => ({ run: m.down }))));
  program
    .command('destroy')
    .description('delete the cluster, data containers, volumes and images created by devenv')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--context <ctx>', "an allow-listed existing cluster: remove devenv's objects from it")
    .option('--kubeconfig <file>', 'kubeconfig file for --context')
    .action(lazy(() => import('./commands/lifecycle.ts').then((m) => ({ run: m.destroy }))));
  program
    .command('status')
    .description('cluster, data services and rollout state of each service')
    .option('--json', 'machine-readable output')
    .option('--context <ctx>', 'an allow-listed existing cluster')
    .option('--kubeconfig <file>', 'kubeconfig file for --context')
    .action(lazy(() => import('./commands/status.ts')));
}

/** logs, forward, reload: one service of a running environment. */
function addServiceCommands(program: Command): void {
  program
    .command('logs')
    .description('logs of a service (all its pods)')
    .argument('<service>')
    .option('-f, --follow', 'keep streaming')
    .option('--since <duration>', 'only lines newer than this, e.g. 10m')
    .option(
      '--grep <regex>',
      'only lines matching this regular expression (smart-case), matches highlighted on a terminal',
    )
    .option('--context <ctx>', 'an allow-listed existing cluster')
    .option('--kubeconfig <file>', 'kubeconfig file for --context')
    .action(lazy(() => import('./commands/logs.ts')));
  program
    .command('forward')
    .description(
      'forward local ports to a service until Ctrl-C; each connection goes to a ready pod (survives restarts and rollouts)',
    )
    .argument('<service>')
    .argument(
      '[ports...]',
      'LOCAL:PORT ("8080:http"), LOCAL:SERVICE:PORT or PORT; default: its services[].forwards',
    )
    .option('--context <ctx>', 'an allow-listed existing cluster')
    .option('--kubeconfig <file>', 'kubeconfig file for --context')
    .action(lazy(() => import('./commands/forward.ts')));
  program
    .command('reload')
    .description('rebuild and roll out one service now')
    .argument('<service>')
    .option('--context <ctx>', 'an allow-listed existing cluster')
    .option('--kubeconfig <file>', 'kubeconfig file for --context')
    .action(lazy(() => import('./commands/reload.ts')));
}

/** env and db: the data services outside the cluster. */
function addDataCommands(program: Command): void {
  program
    .command('env')
    .description('connection variables for the data services (DATABASE_URL, S3_ENDPOINT, ...)')
    .option('--show-secrets', 'print passwords and keys instead of masking them')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/env.ts')));

  const db = program.command('db').description('the database outside the cluster');
  db.command('shell')
    .description('psql / mysql inside the database container')
    .action(lazy(() => import('./commands/db.ts').then((m) => ({ run: m.shell }))));
  db.command('snapshot')
    .description('dump the database into the object store')
    .argument('[name]')
    .action(lazy(() => import('./commands/db.ts').then((m) => ({ run: m.snapshot }))));
  db.command('restore')
    .description('restore a snapshot')
    .argument('<name>')
    .action(lazy(() => import('./commands/db.ts').then((m) => ({ run: m.restore }))));
  db.command('snapshots')
    .description('list snapshots')
    .action(lazy(() => import('./commands/db.ts').then((m) => ({ run: m.snapshots }))));
}

/** trust, doctor, init: setting up a machine and a repository. */
function addSetupCommands(program: Command): void {
  program
    .command('trust')
    .description("show how to trust devenv's local certificate authority")
    .addOption(new Option('--install', 'install the CA into the system trust stores').conflicts('uninstall'))
    .option('--uninstall', 'remove the CA from the trust stores')
    .action(lazy(() => import('./commands/trust.ts')));

  program
    .command('doctor')
    .description('check Docker, k3d, kubectl, ports and disk; say how to fix what fails')
    .option('--json', 'machine-readable output (shape documented in the README)')
    .action(lazy(() => import('./commands/doctor.ts')));
  program
    .command('init')
    .description('write a commented starter devenv.yaml for this repository')
    .option('--force', 'overwrite an existing devenv.yaml')
    .option('--stdout', 'print instead of writing the file')
    .addOption(
      new Option('--ci <kind>', 'write a nightly prerelease CI pipeline instead').choices([
        'gitlab',
        'github',
      ]),
    )
    .action(lazy(() => import('./commands/init.ts')));
}

/** config validate, config schema: the devenv.yaml file itself. */
function addConfigCommands(program: Command): void {
  const config = program.command('config').description('the devenv.yaml project config');
  config
    .command('validate')
    .description('report every problem in devenv.yaml as file:line:col (exit 2 if any)')
    .argument('[file]', 'config file (default: the project config)')
    .action(lazy(() => import('./commands/config-validate.ts')));
  config
    .command('schema')
    .description('print the JSON Schema of devenv.yaml (for editor completion)')
    .action(lazy(() => import('./commands/config-schema.ts')));
}

/** prerelease up, test, down, gc: nightly namespaces on the shared cluster. */
function addPrereleaseCommands(program: Command): void {
  const pre = program
    .command('prerelease')
    .description('nightly prerelease namespaces on the shared cluster');
  const preAction = (name: 'up' | 'test' | 'down' | 'gc') =>
    lazy(() => import('./commands/prerelease.ts').then((m) => ({ run: m[name] as Runner })));
  pre
    .command('up')
    .description('deploy into a fresh, labelled, time-limited namespace')
    .requiredOption('--context <ctx>', 'kube context of the shared cluster')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config)')
    .option('--name <name>', 'namespace suffix (default: nightly-YYYYMMDD)')
    .option('--image-tag <tag>', 'deploy images with this tag')
    .option('--build', 'build and push images')
    .option('--registry <reg>', 'registry to push to / pull from')
    .option('--force', 'run outside the quiet window')
    .action(preAction('up'));
  pre
    .command('test')
    .description('run the integration tests; collect results')
    .option('--context <ctx>', 'kube context of the shared cluster (default: prerelease.context)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config)')
    .option('--name <name>', 'namespace suffix (default: nightly-YYYYMMDD)')
    .option('--junit <file>', 'write JUnit XML here')
    .option('--artifacts <dir>', 'collect logs, events and status here')
    .option('--timeout <duration>', 'limit for the whole test run', '30m')
    .option(
      '--command <cmd>',
      'run this command locally (endpoints in its environment) instead of the test Job',
    )
    .action(preAction('test'));
  pre
    .command('down')
    .description('delete a prerelease namespace')
    .option('--context <ctx>', 'kube context of the shared cluster (default: prerelease.context)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config)')
    .option('--name <name>', 'namespace suffix (default: nightly-YYYYMMDD)')
    .action(preAction('down'));
  pre
    .command('gc')
    .description('delete expired prerelease namespaces (devenv-labelled only)')
    .option('--context <ctx>', 'kube context of the shared cluster (default: prerelease.context)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config)')
    .option('--dry-run', 'list what would be deleted')
    .action(preAction('gc'));
}

declare const __DEVENV_VERSION__: string | undefined;
const VERSION = typeof __DEVENV_VERSION__ === 'string' ? __DEVENV_VERSION__ : '0.1.0';

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // A failure the plain printer already printed (its FAILED line and lines) is named, not
    // repeated: each failure appears once. plain.ts is loaded only on this path.
    const printedBy =
      err instanceof DevenvError ? (await import('../tui/plain.ts')).printedFailure(err.message) : undefined;
    if (err instanceof DevenvError && printedBy !== undefined) {
      process.stderr.write(`${errorLine(`${printedBy} failed (above)`)}\n`);
      return err.exitCode;
    }
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version "errors" are commander's way of exiting early; a bad flag is bad input.
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return 0;
    return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  }
  if (err instanceof DevenvError) {
    process.stderr.write(`${errorLine(err.message)}\n`);
    for (const d of err.details) process.stderr.write(`  ${d}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`${errorLine(`internal error: ${e?.message ?? String(err)}`)}\n`);
  if (process.env.DEVENV_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('  (set DEVENV_DEBUG=1 for the stack trace; please report it)\n');
  return EXIT_FAILURE;
}
