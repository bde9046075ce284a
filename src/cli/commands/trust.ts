/**
 * `devenv trust`: shows where devenv's local CA is and the exact commands that trust it on
 * each platform (creating the CA first if needed); `--install` trusts it where devenv can
 * by itself and `--uninstall` removes exactly what `--install` wrote, each printing every
 * change it made. Only the CA certificate is printed about or copied: never a key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { checkConfigFile, findConfigFile } from '../../config/load.ts';
import { EXIT_FAILURE } from '../../errors.ts';
import { caId } from '../../tls/ca.ts';
import { caPaths, ensureCa } from '../../tls/store.ts';
import {
  detectTrustTargets,
  installCa,
  type TrustChange,
  trustInstructions,
  uninstallCa,
} from '../../tls/trust.ts';
import { formatFingerprint } from '../../tls/x509.ts';
import { dim, green, red, yellow } from '../../tui/color.ts';
import type { GlobalOptions } from '../options.ts';

export async function run(
  opts: { install?: boolean; uninstall?: boolean },
  _args: string[],
  global: GlobalOptions,
): Promise<number> {
  const out = (s = '') => process.stdout.write(`${s}\n`);

  if (opts.uninstall) {
    const targets = detectTrustTargets();
    // Uninstalling never creates a CA; it only needs the current one to recognise a lost record.
    const { certPath } = caPaths();
    const current = existsSync(certPath) ? readFileSync(certPath, 'utf8') : undefined;
    const changes = uninstallCa(targets, current ? { certPem: current, id: caId(current) } : undefined);
    if (changes.length === 0) out('Nothing to remove: devenv has not installed its CA in any trust store.');
    printChanges(changes);
    return changes.some((c) => c.action === 'failed') ? EXIT_FAILURE : 0;
  }

  const env = process.env;
  if (env.SUDO_USER && !env.DEVENV_STATE_DIR && !env.XDG_STATE_HOME && env.HOME === userInfo().homedir) {
    // Under sudo (with HOME reset) the state directory is root's, so this is root's CA, not
    // the one that signs SUDO_USER's certificates: say so rather than trust the wrong CA.
    process.stderr.write(
      `${yellow('note:', process.stderr)} running under sudo: this is root's devenv CA, not ${process.env.SUDO_USER}'s. ` +
        `To trust ${process.env.SUDO_USER}'s CA, run "devenv trust" as ${process.env.SUDO_USER} and use the sudo commands it prints.\n`,
    );
  }
  const ca = await ensureCa();
  const id = caId(ca.certPem);
  out(`devenv local CA${ca.created ? green(' (created now)') : ''}`);
  out(`  certificate  ${ca.certPath}`);
  out(`  subject      ${ca.meta.subject}`);
  out(`  sha256       ${formatFingerprint(ca.meta.fingerprint)}`);
  out(`  valid until  ${ca.meta.notAfter.toISOString().slice(0, 10)}`);
  out(dim(`  (its private key stays in ${ca.dir}, mode 0600; devenv never prints or copies it)`));

  if (opts.install) {
    out();
    const changes = installCa({ certPath: ca.certPath, certPem: ca.certPem, id }, detectTrustTargets());
    printChanges(changes);
    out();
    out(`Node.js does not read the system store: export NODE_EXTRA_CA_CERTS=${ca.certPath}`);
    const trusted = changes.some((c) => c.action === 'added' || c.action === 'present');
    if (!trusted) {
      process.stderr.write(
        `${red('devenv could not install the CA anywhere;')} use the commands of "devenv trust".\n`,
      );
      return EXIT_FAILURE;
    }
    return changes.some((c) => c.action === 'failed') ? EXIT_FAILURE : 0;
  }

  out();
  out('Trust it (once per machine):');
  for (const ins of trustInstructions({ caPath: ca.certPath, id, url: projectUrl(global) })) {
    out(`  ${ins.target}`);
    for (const c of ins.commands) out(`    ${c}`);
  }
  out();
  out(
    `Or run ${green('devenv trust --install')}: it adds the CA to the NSS databases (Firefox, Chrome) and, when run ` +
      'as root, to the system store; "devenv trust --uninstall" undoes it.',
  );
  return 0;
}

function printChanges(changes: readonly TrustChange[]): void {
  for (const c of changes) {
    const mark = {
      added: green('added   '),
      present: green('present '),
      removed: green('removed '),
      gone: dim('gone    '),
      skipped: yellow('skipped '),
      failed: red('FAILED  ', process.stdout),
    }[c.action];
    process.stdout.write(`${mark} ${c.store}: ${c.detail}\n`);
  }
}

/** The project's TLS address for the curl example, when a valid devenv.yaml with `tls` is at hand. */
function projectUrl(global: GlobalOptions): string | undefined {
  const file = global.config ?? findConfigFile();
  const result = file ? checkConfigFile(file) : undefined;
  const tls = result?.ok ? result.config.tls : undefined;
  return tls ? `https://${tls.hosts[0]}:${tls.port}/` : undefined;
}
