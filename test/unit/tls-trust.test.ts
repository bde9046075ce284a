/**
 * `devenv trust` as a user runs it (a child process with its own DEVENV_STATE_DIR), and
 * install/uninstall against REAL trust-store tools pointed at sandboxes: Debian's
 * update-ca-certificates (its --localcertsdir/--etccertsdir options) and NSS certutil on a
 * fresh database, so that the machine's own trust stores are never touched by a test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caId } from '../../src/tls/ca.ts';
import { ensureLeaf } from '../../src/tls/store.ts';
import {
  findNssDbs,
  findOnPath,
  installCa,
  type TrustTargets,
  trustInstructions,
  uninstallCa,
} from '../../src/tls/trust.ts';
import { toolMissing } from '../setup/tier.ts';

const root = join(import.meta.dirname, '..', '..');
const devenv = join(root, 'devenv');

function cli(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [devenv, ...args], {
    encoding: 'utf8',
    cwd: tmpdir(), // no devenv.yaml upwards
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
  });
}

/** Every base64 line of a PEM body: none may appear in any output. */
function pemLines(pem: string): string[] {
  return pem.split('\n').filter((l) => l && !l.startsWith('-----'));
}

describe('devenv trust (CLI in a child process)', () => {
  let state: string;
  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), 'devenv-trust-'));
  });
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it('creates the CA, prints its path and the exact trust commands, and never a key', async () => {
    const r = cli(['trust'], { DEVENV_STATE_DIR: state });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const caPath = join(state, 'ca', 'ca.crt');
    const caPem = readFileSync(caPath, 'utf8');
    const id = caId(caPem);
    expect(r.stdout).toContain('devenv local CA (created now)');
    expect(r.stdout).toContain(`certificate  ${caPath}`);
    for (const line of [
      `sudo cp ${caPath} /usr/local/share/ca-certificates/devenv-${id}.crt`,
      'sudo update-ca-certificates',
      `sudo cp ${caPath} /etc/pki/ca-trust/source/anchors/devenv-${id}.crt`,
      'sudo update-ca-trust extract',
      `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${caPath}`,
      `export NODE_EXTRA_CA_CERTS=${caPath}`,
      `certutil -A -d sql:$HOME/.pki/nssdb -t C,, -n 'devenv local CA ${id}' -i ${caPath}`,
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(statSync(join(state, 'ca', 'ca.key')).mode & 0o777).toBe(0o600);

    // A leaf exists too: neither private key shows up in any output of any trust command.
    const leaf = await ensureLeaf({
      project: 'social',
      hosts: ['chat.social.localhost'],
      env: { DEVENV_STATE_DIR: state },
    });
    const secrets = [
      ...pemLines(readFileSync(join(state, 'ca', 'ca.key'), 'utf8')),
      ...pemLines(leaf.keyPem),
    ];
    for (const args of [['trust'], ['trust', '--uninstall']]) {
      const out = cli(args, { DEVENV_STATE_DIR: state });
      expect(out.status, out.stderr).toBe(0);
      const all = out.stdout + out.stderr;
      expect(all).not.toMatch(/PRIVATE KEY/);
      for (const s of secrets) expect(all).not.toContain(s);
    }
  });

  it('does not create a second CA on the next run', () => {
    const before = readFileSync(join(state, 'ca', 'ca.crt'), 'utf8');
    const r = cli(['trust'], { DEVENV_STATE_DIR: state });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('created now');
    expect(readFileSync(join(state, 'ca', 'ca.crt'), 'utf8')).toBe(before);
  });

  it('--uninstall with nothing installed changes nothing and creates no CA', () => {
    const empty = mkdtempSync(join(tmpdir(), 'devenv-trust-empty-'));
    try {
      const r = cli(['trust', '--uninstall'], { DEVENV_STATE_DIR: empty });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Nothing to remove');
      expect(existsSync(join(empty, 'ca'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses --install together with --uninstall (bad input, exit 2)', () => {
    const r = cli(['trust', '--install', '--uninstall'], { DEVENV_STATE_DIR: state });
    expect(r.status).toBe(2);
  });

  it('shell-quotes paths in the printed commands', () => {
    const [debian] = trustInstructions({ caPath: "/home/o'neil/my state/ca.crt", id: 'abc' });
    expect(debian?.commands[0]).toBe(
      "sudo cp '/home/o'\\''neil/my state/ca.crt' /usr/local/share/ca-certificates/devenv-abc.crt",
    );
  });
});

const updateCaCertificates = findOnPath('update-ca-certificates');
const certutil = findOnPath('certutil');
const openssl = spawnSync('openssl', ['version']).status === 0;
const DISTRO_CA = 'mozilla/ISRG_Root_X1.crt';
const hasDistroCa = existsSync(join('/usr/share/ca-certificates', DISTRO_CA));
// The sandbox test needs the real tools (.ci/run installs them).
for (const [missing, what] of [
  [!updateCaCertificates, 'update-ca-certificates not found (apt install ca-certificates)'],
  [!certutil, 'certutil not found (apt install libnss3-tools)'],
  [!openssl, 'openssl not found (apt install openssl)'],
  [!hasDistroCa, `/usr/share/ca-certificates/${DISTRO_CA} not found (apt install ca-certificates)`],
] as const) {
  if (missing) toolMissing('tls-trust', what);
}

describe('trust --install / --uninstall against real tools in sandboxes', () => {
  let box: string;
  let env: NodeJS.ProcessEnv;
  let targets: TrustTargets;
  let ca: { certPath: string; certPem: string; id: string };
  let leafPath: string;
  const bundle = () => join(box, 'etc-ssl-certs', 'ca-certificates.crt');
  const sandbox = () => [
    '--certsconf',
    join(box, 'ca-certificates.conf'),
    '--localcertsdir',
    join(box, 'local'),
    '--etccertsdir',
    join(box, 'etc-ssl-certs'),
    '--hooksdir',
    join(box, 'hooks'),
  ];

  beforeAll(async () => {
    box = mkdtempSync(join(tmpdir(), 'devenv-truststore-'));
    env = { DEVENV_STATE_DIR: join(box, 'state') };
    const leaf = await ensureLeaf({ project: 'social', hosts: ['chat.social.localhost'], env });
    leafPath = leaf.certPath;
    ca = { certPath: leaf.caPath, certPem: leaf.caPem, id: caId(leaf.caPem) };
    for (const d of ['local', 'etc-ssl-certs', 'hooks', 'home/.pki/nssdb'])
      mkdirSync(join(box, d), { recursive: true });
    // One distribution CA besides ours, as on a real system (the bundle is never empty).
    writeFileSync(join(box, 'ca-certificates.conf'), `${DISTRO_CA}\n`);
    if (certutil) {
      const r = spawnSync(certutil, ['-N', '--empty-password', '-d', `sql:${join(box, 'home/.pki/nssdb')}`]);
      expect(r.status).toBe(0);
    }
    targets = {
      platform: 'linux',
      isRoot: true,
      systemStore: updateCaCertificates
        ? {
            name: 'sandboxed Debian store',
            anchorsDir: join(box, 'local'),
            refresh: [updateCaCertificates, ...sandbox()],
            refreshAfterRemove: [updateCaCertificates, '--fresh', ...sandbox()],
          }
        : undefined,
      nssDbs: certutil ? findNssDbs(join(box, 'home')) : [],
      certutil,
      recordsPath: join(box, 'state', 'trust', 'installed.json'),
    };
  });
  afterAll(() => rmSync(box, { recursive: true, force: true }));

  const verifiesWithBundle = () =>
    existsSync(bundle()) && spawnSync('openssl', ['verify', '-CAfile', bundle(), leafPath]).status === 0;
  const nssList = () =>
    spawnSync(certutil ?? 'certutil', ['-L', '-d', `sql:${join(box, 'home/.pki/nssdb')}`], {
      encoding: 'utf8',
    }).stdout;

  it.skipIf(!updateCaCertificates || !certutil || !openssl || !hasDistroCa)(
    'installs the certificate (never the key), is idempotent, and uninstalls exactly what it wrote',
    () => {
      expect(targets.nssDbs).toEqual([join(box, 'home/.pki/nssdb')]);
      expect(verifiesWithBundle()).toBe(false);

      const added = installCa(ca, targets);
      const anchor = join(box, 'local', `devenv-${ca.id}.crt`);
      expect(added.map((c) => [c.store, c.action])).toEqual([
        ['sandboxed Debian store', 'added'],
        [`NSS ${join(box, 'home/.pki/nssdb')}`, 'added'],
      ]);
      expect(added[0]?.detail).toContain(`wrote ${anchor}; ran ${updateCaCertificates}`);
      expect(readFileSync(anchor, 'utf8')).toBe(ca.certPem);
      expect(statSync(anchor).mode & 0o777).toBe(0o644);
      expect(verifiesWithBundle()).toBe(true); // the rebuilt bundle now trusts devenv's leaf
      expect(nssList()).toMatch(new RegExp(`devenv local CA ${ca.id}\\s+C,,`));
      const records = JSON.parse(readFileSync(targets.recordsPath, 'utf8')) as unknown[];
      expect(records).toHaveLength(2);
      expect(JSON.stringify(records)).not.toContain('PRIVATE');

      const again = installCa(ca, targets);
      expect(again.map((c) => c.action)).toEqual(['present', 'present']);

      const removed = uninstallCa(targets, ca);
      expect(removed.map((c) => c.action)).toEqual(['removed', 'removed', 'removed']);
      expect(removed[2]?.detail).toContain(`ran ${updateCaCertificates} --fresh`);
      expect(existsSync(anchor)).toBe(false);
      expect(verifiesWithBundle()).toBe(false);
      expect(nssList()).not.toContain('devenv local CA');
      expect(JSON.parse(readFileSync(targets.recordsPath, 'utf8'))).toEqual([]);
      expect(uninstallCa(targets, ca)).toEqual([]);
    },
  );

  it.skipIf(!updateCaCertificates)('leaves alone an anchor file that is no longer what devenv wrote', () => {
    installCa(ca, { ...targets, nssDbs: [] });
    const anchor = join(box, 'local', `devenv-${ca.id}.crt`);
    const foreign = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').split(
      '-----END CERTIFICATE-----',
    )[0];
    writeFileSync(anchor, `${foreign}-----END CERTIFICATE-----\n`);
    const changes = uninstallCa({ ...targets, nssDbs: [] }, ca);
    expect(changes).toEqual([
      expect.objectContaining({
        action: 'skipped',
        detail: `${anchor} changed since devenv wrote it; left alone`,
      }),
    ]);
    expect(existsSync(anchor)).toBe(true);
    rmSync(anchor);
  });

  it.skipIf(!updateCaCertificates)(
    'without root, changes no system file and prints the sudo command instead',
    () => {
      const changes = installCa(ca, { ...targets, isRoot: false, nssDbs: [], certutil: undefined });
      expect(changes[0]).toMatchObject({ action: 'skipped' });
      expect(changes[0]?.detail).toContain(
        `needs root; run: sudo cp ${ca.certPath} ${join(box, 'local')}/devenv-${ca.id}.crt`,
      );
      expect(existsSync(join(box, 'local', `devenv-${ca.id}.crt`))).toBe(false);
      expect(changes[1]).toMatchObject({
        action: 'skipped',
        detail: expect.stringContaining('certutil not found'),
      });
    },
  );
});
