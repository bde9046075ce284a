/**
 * Trusting devenv's local CA: the exact commands for each platform (pure), and installing
 * into / removing from the trust stores devenv can reach by itself:
 *
 *   - the Linux system store, as root: a copy of the CA certificate in the distribution's
 *     anchors directory (Debian/Ubuntu: /usr/local/share/ca-certificates, refreshed with
 *     update-ca-certificates; Fedora/RHEL: /etc/pki/ca-trust/source/anchors, refreshed with
 *     update-ca-trust extract);
 *   - NSS databases (Chrome/Chromium's ~/.pki/nssdb, Firefox profiles), when certutil exists.
 *
 * Only the CA CERTIFICATE is ever copied; the key never leaves the state directory.
 * Every change is recorded (state dir: trust/installed.json) and uninstall removes only
 * what devenv wrote: a file or NSS entry whose certificate still has the recorded
 * fingerprint. macOS and Windows stores need an interactive admin prompt, so devenv prints
 * the command instead of running it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ensureDir, stateRoot } from '../state/paths.ts';
import { certFingerprint } from './x509.ts';

/** POSIX shell quoting, so that printed commands can be pasted as they are. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const anchorFileName = (id: string): string => `devenv-${id}.crt`;
export const nssNickname = (id: string): string => `devenv local CA ${id}`;

export interface Instruction {
  /** Where it applies, e.g. "Debian/Ubuntu". */
  target: string;
  /** Shell commands, in order. */
  commands: string[];
}

/** The commands that trust the CA at `caPath` everywhere devenv knows of (pure). */
export function trustInstructions(opts: { caPath: string; id: string; url?: string }): Instruction[] {
  const ca = shq(opts.caPath);
  const nick = shq(nssNickname(opts.id));
  return [
    {
      target: 'Debian/Ubuntu',
      commands: [
        `sudo cp ${ca} /usr/local/share/ca-certificates/${anchorFileName(opts.id)}`,
        'sudo update-ca-certificates',
      ],
    },
    {
      target: 'Fedora/RHEL',
      commands: [
        `sudo cp ${ca} /etc/pki/ca-trust/source/anchors/${anchorFileName(opts.id)}`,
        'sudo update-ca-trust extract',
      ],
    },
    {
      target: 'macOS',
      commands: [
        `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${ca}`,
      ],
    },
    { target: 'Windows', commands: [`certutil -addstore -f ROOT ${ca}`] },
    { target: 'Node.js', commands: [`export NODE_EXTRA_CA_CERTS=${ca}`] },
    {
      target: 'Python (requests), curl',
      commands: [
        `export REQUESTS_CA_BUNDLE=${ca}`,
        `curl --cacert ${ca} ${shq(opts.url ?? 'https://localhost:8443/')}`,
      ],
    },
    {
      target: 'Chrome/Chromium on Linux (NSS)',
      commands: [`certutil -A -d sql:$HOME/.pki/nssdb -t C,, -n ${nick} -i ${ca}`],
    },
    {
      target: 'Firefox (each profile)',
      commands: [`certutil -A -d sql:<profile dir> -t C,, -n ${nick} -i ${ca}`],
    },
  ];
}

/** A system trust store: where anchors go and the command that rebuilds the bundle. */
export interface SystemStore {
  name: string;
  anchorsDir: string;
  /** Rebuilds the bundle after an anchor was added. */
  refresh: readonly string[];
  /** Rebuilds it after an anchor was removed (Debian needs --fresh to drop the old links). */
  refreshAfterRemove: readonly string[];
}

export const LINUX_SYSTEM_STORES: readonly SystemStore[] = [
  {
    name: 'Debian/Ubuntu system store',
    anchorsDir: '/usr/local/share/ca-certificates',
    refresh: ['update-ca-certificates'],
    refreshAfterRemove: ['update-ca-certificates', '--fresh'],
  },
  {
    name: 'Fedora/RHEL system store',
    anchorsDir: '/etc/pki/ca-trust/source/anchors',
    refresh: ['update-ca-trust', 'extract'],
    refreshAfterRemove: ['update-ca-trust', 'extract'],
  },
];

/** What install/uninstall may touch; detectTrustTargets() finds it, tests pass sandboxes. */
export interface TrustTargets {
  platform: NodeJS.Platform;
  isRoot: boolean;
  /** The system store of this machine, if one was recognised. */
  systemStore?: SystemStore;
  /** NSS database directories (each holds cert9.db), if certutil exists. */
  nssDbs: string[];
  /** Absolute path of certutil, if found. */
  certutil?: string;
  /** File recording what devenv installed. */
  recordsPath: string;
}

export function findOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const d of [...dirs, '/usr/sbin', '/sbin', '/usr/bin']) {
    const p = join(d, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {}
  }
  return undefined;
}

/** NSS databases under a home directory: Chrome/Chromium's, and every Firefox profile's. */
export function findNssDbs(home: string): string[] {
  const found: string[] = [];
  const isDb = (d: string) => existsSync(join(d, 'cert9.db'));
  const chrome = join(home, '.pki', 'nssdb');
  if (isDb(chrome)) found.push(chrome);
  for (const profiles of [
    join(home, '.mozilla', 'firefox'),
    join(home, 'snap', 'firefox', 'common', '.mozilla', 'firefox'),
    join(home, 'Library', 'Application Support', 'Firefox', 'Profiles'),
  ]) {
    let entries: string[] = [];
    try {
      entries = readdirSync(profiles);
    } catch {}
    for (const e of entries.sort()) if (isDb(join(profiles, e))) found.push(join(profiles, e));
  }
  return found;
}

export function detectTrustTargets(env: NodeJS.ProcessEnv = process.env): TrustTargets {
  const platform = process.platform;
  const certutil = platform === 'win32' ? undefined : findOnPath('certutil', env);
  const systemStore =
    platform === 'linux'
      ? LINUX_SYSTEM_STORES.find((s) => existsSync(s.anchorsDir) && findOnPath(s.refresh[0] ?? '', env))
      : undefined;
  return {
    platform,
    isRoot: process.getuid?.() === 0,
    systemStore,
    nssDbs: certutil ? findNssDbs(env.HOME ?? homedir()) : [],
    certutil,
    recordsPath: join(stateRoot(env), 'trust', 'installed.json'),
  };
}

export type TrustRecord =
  | { kind: 'system'; store: string; path: string; fingerprint: string }
  | { kind: 'nss'; db: string; nickname: string; fingerprint: string };

export interface TrustChange {
  store: string;
  action: 'added' | 'present' | 'removed' | 'gone' | 'skipped' | 'failed';
  /** Exactly what was changed (or why not), one line. */
  detail: string;
}

function readRecords(path: string): TrustRecord[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return Array.isArray(parsed) ? (parsed as TrustRecord[]) : [];
  } catch {
    return [];
  }
}

function writeRecords(path: string, records: TrustRecord[]): void {
  ensureDir(join(path, '..'));
  writeFileSync(path, `${JSON.stringify(records, null, 2)}\n`, { mode: 0o600 });
}

const recordKey = (r: TrustRecord) =>
  r.kind === 'system' ? `system:${r.path}` : `nss:${r.db}:${r.nickname}`;

function run(cmd: readonly string[]): { ok: boolean; output: string } {
  const [file, ...args] = cmd;
  const r = spawnSync(file ?? '', args, { encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error.message) : ''}`.trim();
  return { ok: r.status === 0, output };
}

function lastLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1] ?? '';
}

/** Fingerprint of the certificate in a PEM file, or undefined if unreadable. */
function fileFingerprint(path: string): string | undefined {
  try {
    return certFingerprint(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Fingerprints of the certificates NSS holds under a nickname (none if absent). */
function nssFingerprints(certutil: string, db: string, nickname: string): string[] {
  const r = run([certutil, '-L', '-d', `sql:${db}`, '-n', nickname, '-a']);
  if (!r.ok) return [];
  const blocks =
    r.output.replace(/\r/g, '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((b) => {
    try {
      return [certFingerprint(b)];
    } catch {
      return [];
    }
  });
}

/** Installs the CA certificate wherever devenv can; returns what it changed. */
export function installCa(
  ca: { certPath: string; certPem: string; id: string },
  t: TrustTargets,
): TrustChange[] {
  const fingerprint = certFingerprint(ca.certPem);
  const records = readRecords(t.recordsPath);
  const remember = (r: TrustRecord) => {
    const i = records.findIndex((x) => recordKey(x) === recordKey(r));
    if (i >= 0) records[i] = r;
    else records.push(r);
  };
  const changes = [
    ...installSystem(ca, t, fingerprint, remember),
    ...nssUnreachable(t),
    ...installNss(ca, t, fingerprint, remember),
  ];
  writeRecords(t.recordsPath, records);
  return changes;
}

type Remember = (r: TrustRecord) => void;

/** The system store's one change: the anchor written and refreshed as root (remembered), present, or skipped with the manual command. */
function installSystem(
  ca: { certPath: string; certPem: string; id: string },
  t: TrustTargets,
  fingerprint: string,
  remember: Remember,
): TrustChange[] {
  if (!t.systemStore) {
    if (t.platform === 'linux')
      return [
        {
          store: 'system store',
          action: 'skipped',
          detail:
            'no update-ca-certificates or update-ca-trust found; "devenv trust" prints the manual commands',
        },
      ];
    const how =
      t.platform === 'darwin'
        ? `run: sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${shq(ca.certPath)}`
        : '"devenv trust" prints the commands';
    return [{ store: 'system store', action: 'skipped', detail: `needs an admin prompt; ${how}` }];
  }
  const s = t.systemStore;
  const dest = join(s.anchorsDir, anchorFileName(ca.id));
  if (!t.isRoot) {
    const detail = `needs root; run: sudo cp ${shq(ca.certPath)} ${shq(dest)} && sudo ${s.refresh.map(shq).join(' ')}`;
    return [{ store: s.name, action: 'skipped', detail }];
  }
  if (fileFingerprint(dest) === fingerprint) {
    remember({ kind: 'system', store: s.name, path: dest, fingerprint });
    return [{ store: s.name, action: 'present', detail: `${dest} is already installed` }];
  }
  writeFileSync(dest, ca.certPem, { mode: 0o644 }); // the certificate only, world-readable as anchors are
  remember({ kind: 'system', store: s.name, path: dest, fingerprint });
  const r = run(s.refresh);
  return r.ok
    ? [
        {
          store: s.name,
          action: 'added',
          detail: `wrote ${dest}; ran ${s.refresh.join(' ')}: ${lastLine(r.output) || 'ok'}`,
        },
      ]
    : [
        {
          store: s.name,
          action: 'failed',
          detail: `wrote ${dest}, but ${s.refresh.join(' ')} failed: ${lastLine(r.output)}`,
        },
      ];
}

/** Why no NSS database is reachable (no certutil, or none in this home); empty when some are. */
function nssUnreachable(t: TrustTargets): TrustChange[] {
  const store = 'NSS (Firefox, Chrome)';
  if (!t.certutil) {
    const detail =
      'certutil not found (Debian/Ubuntu: apt install libnss3-tools; Fedora: dnf install nss-tools)';
    return [{ store, action: 'skipped', detail }];
  }
  if (t.nssDbs.length === 0)
    return [{ store, action: 'skipped', detail: 'no NSS database found in this home' }];
  return [];
}

/** One change per NSS database: the CA added with certutil (remembered), present, or failed. */
function installNss(
  ca: { certPath: string; id: string },
  t: TrustTargets,
  fingerprint: string,
  remember: Remember,
): TrustChange[] {
  const changes: TrustChange[] = [];
  for (const db of t.certutil ? t.nssDbs : []) {
    const nickname = nssNickname(ca.id);
    const store = `NSS ${db}`;
    if (nssFingerprints(t.certutil!, db, nickname).includes(fingerprint)) {
      remember({ kind: 'nss', db, nickname, fingerprint });
      changes.push({ store, action: 'present', detail: `"${nickname}" is already trusted` });
      continue;
    }
    const r = run([t.certutil!, '-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', nickname, '-i', ca.certPath]);
    if (r.ok) {
      remember({ kind: 'nss', db, nickname, fingerprint });
      changes.push({ store, action: 'added', detail: `added "${nickname}" (trusted for TLS servers)` });
    } else {
      changes.push({ store, action: 'failed', detail: `certutil -A failed: ${lastLine(r.output)}` });
    }
  }
  return changes;
}

/**
 * Removes what installCa recorded, and nothing else: a system anchor file or NSS entry is
 * removed only while its certificate still has the recorded fingerprint. The current CA's
 * own anchor file (devenv-<id>.crt with identical content) is also removed when the record
 * was lost, since only devenv writes that name with that certificate.
 */
export function uninstallCa(t: TrustTargets, current?: { certPem: string; id: string }): TrustChange[] {
  const records = readRecords(t.recordsPath);
  if (current && t.systemStore) {
    const path = join(t.systemStore.anchorsDir, anchorFileName(current.id));
    const fingerprint = certFingerprint(current.certPem);
    if (
      fileFingerprint(path) === fingerprint &&
      !records.some((r) => r.kind === 'system' && r.path === path)
    ) {
      records.push({ kind: 'system', store: t.systemStore.name, path, fingerprint });
    }
  }
  const changes: TrustChange[] = [];
  const kept: TrustRecord[] = [];
  const refreshStores = new Set<string>();
  for (const r of records) {
    if (r.kind === 'system') {
      const fp = fileFingerprint(r.path);
      if (fp === undefined && !existsSync(r.path)) {
        changes.push({ store: r.store, action: 'gone', detail: `${r.path} was already removed` });
      } else if (fp !== r.fingerprint) {
        changes.push({
          store: r.store,
          action: 'skipped',
          detail: `${r.path} changed since devenv wrote it; left alone`,
        });
      } else if (!t.isRoot) {
        kept.push(r);
        changes.push({
          store: r.store,
          action: 'skipped',
          detail: `needs root; run: sudo rm ${shq(r.path)} and refresh the store`,
        });
      } else {
        rmSync(r.path);
        refreshStores.add(r.store);
        changes.push({ store: r.store, action: 'removed', detail: `removed ${r.path}` });
      }
    } else {
      const store = `NSS ${r.db}`;
      if (!t.certutil) {
        kept.push(r);
        changes.push({
          store,
          action: 'skipped',
          detail: `certutil not found; "${r.nickname}" left in place`,
        });
      } else if (!existsSync(join(r.db, 'cert9.db'))) {
        changes.push({ store, action: 'gone', detail: 'the NSS database no longer exists' });
      } else if (!nssFingerprints(t.certutil, r.db, r.nickname).includes(r.fingerprint)) {
        changes.push({
          store,
          action: 'gone',
          detail: `"${r.nickname}" is not there (or is another certificate)`,
        });
      } else {
        const d = run([t.certutil, '-D', '-d', `sql:${r.db}`, '-n', r.nickname]);
        if (d.ok) changes.push({ store, action: 'removed', detail: `removed "${r.nickname}"` });
        else {
          kept.push(r);
          changes.push({ store, action: 'failed', detail: `certutil -D failed: ${lastLine(d.output)}` });
        }
      }
    }
  }
  // Rebuild each system bundle once after its anchors are gone (the store that devenv knows
  // by name; a record of a store not on this machine cannot be refreshed from here).
  for (const name of refreshStores) {
    const s = t.systemStore?.name === name ? t.systemStore : LINUX_SYSTEM_STORES.find((x) => x.name === name);
    if (!s) continue;
    const r = run(s.refreshAfterRemove);
    changes.push({
      store: name,
      action: r.ok ? 'removed' : 'failed',
      detail: `ran ${s.refreshAfterRemove.join(' ')}: ${lastLine(r.output) || (r.ok ? 'ok' : 'failed')}`,
    });
  }
  writeRecords(t.recordsPath, kept);
  return changes;
}
