/**
 * Where the CA and the leaf certificates live, and the reconcile step for each:
 * `ensureCa` creates the machine's CA once; `ensureLeaf` issues a project's leaf when
 * there is none or the renewal policy (leaf.ts `needsRenewal`) says so, and otherwise
 * returns the stored one unchanged, so running it twice does nothing the second time.
 *
 * Layout under the state directory (never the project checkout, so keys are not committed):
 *   ca/ca.crt, ca/ca.key                       the CA (key 0600, directory 0700)
 *   projects/<project>/tls/tls.crt, tls.key    the project's leaf (key 0600)
 * Private keys are written 0600 from their first byte (writeSecretFile) and never logged.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { badInput, DevenvError } from '../errors.ts';
import { ensureDir, projectStateDir, stateRoot, writeSecretFile } from '../state/paths.ts';
import { type CaMaterial, type CaMeta, caCommonName, caMeta, caProblem, createCa } from './ca.ts';
import { issueLeaf, leafMeta, needsRenewal } from './leaf.ts';
import { keyMatchesCert } from './x509.ts';

export interface CaPaths {
  dir: string;
  certPath: string;
  keyPath: string;
}

export function caPaths(env: NodeJS.ProcessEnv = process.env): CaPaths {
  const dir = join(stateRoot(env), 'ca');
  return { dir, certPath: join(dir, 'ca.crt'), keyPath: join(dir, 'ca.key') };
}

export interface LoadedCa extends CaMaterial, CaPaths {
  meta: CaMeta;
  /** True when this call created the CA (it then needs trusting: `devenv trust`). */
  created: boolean;
}

/**
 * The machine's CA, created on first use. A CA that exists but cannot be used (one file
 * missing, key not matching, expired) is reported, never replaced silently: it may be
 * trusted in system stores, and a new one would have to be trusted again.
 */
export async function ensureCa(
  opts: { now?: Date; env?: NodeJS.ProcessEnv; user?: string; host?: string } = {},
): Promise<LoadedCa> {
  const now = opts.now ?? new Date();
  const paths = caPaths(opts.env);
  let created = false;
  if (!existsSync(paths.certPath) && !existsSync(paths.keyPath)) {
    const material = await createCa({
      commonName: caCommonName(opts.user ?? safeUser(), opts.host ?? hostname()),
      now,
    });
    created = publishCa(paths, material);
  }
  const material = readCa(paths);
  const problem = caProblem(material, now);
  if (problem) {
    throw new DevenvError(`devenv's local CA in ${paths.dir} cannot be used: ${problem}.`, {
      details: [
        `Move ${paths.dir} aside (or delete it); the next run creates a new CA.`,
        'Then trust the new one: devenv trust --uninstall; devenv trust --install',
      ],
    });
  }
  return { ...material, ...paths, meta: caMeta(material.certPem), created };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'user';
  }
}

function readCa(paths: CaPaths): CaMaterial {
  const missing = [paths.certPath, paths.keyPath].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new DevenvError(
      `devenv's local CA in ${paths.dir} is incomplete: ${missing.join(', ')} is missing.`,
      {
        details: [
          `Move ${paths.dir} aside (or delete it); the next run creates a new CA, which must be trusted again.`,
        ],
      },
    );
  }
  return { certPem: readFileSync(paths.certPath, 'utf8'), keyPem: readFileSync(paths.keyPath, 'utf8') };
}

/**
 * Writes the CA into a private temporary directory and renames it into place in one step,
 * so that two devenv processes starting at once cannot end with one's key beside the
 * other's certificate: the loser's rename fails and it uses the winner's CA.
 * Returns whether this process's CA was the one published.
 */
function publishCa(paths: CaPaths, material: CaMaterial): boolean {
  const root = ensureDir(dirname(paths.dir));
  const tmp = join(root, `.ca-${process.pid}-${randomBytes(6).toString('hex')}`);
  ensureDir(tmp);
  try {
    writeSecretFile(join(tmp, 'ca.key'), material.keyPem);
    writeFileSync(join(tmp, 'ca.crt'), material.certPem, { mode: 0o644 });
    try {
      renameSync(tmp, paths.dir); // replaces an EMPTY directory; fails if one holds files
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface LeafPaths {
  dir: string;
  certPath: string;
  keyPath: string;
}

export function leafPaths(project: string, env: NodeJS.ProcessEnv = process.env): LeafPaths {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(project)) {
    throw badInput(`project name "${project}" is not a DNS-1123 label`);
  }
  const dir = join(projectStateDir(project, env), 'tls');
  return { dir, certPath: join(dir, 'tls.crt'), keyPath: join(dir, 'tls.key') };
}

export interface EnsuredLeaf extends LeafPaths {
  certPem: string;
  /** The leaf's private key (PEM). A secret: goes only into the cluster's TLS Secret. */
  keyPem: string;
  caPem: string;
  caPath: string;
  /** True when this call issued a new certificate (first time or renewal). */
  issued: boolean;
  /** Why it was (re)issued, e.g. "it expires in 12 days (< 30)"; undefined when kept. */
  reason?: string;
  notAfter: Date;
  /** True when the CA itself was created by this call (it needs `devenv trust`). */
  caCreated: boolean;
}

/** The project's leaf for `hosts`, issued or renewed only when needed. */
export async function ensureLeaf(opts: {
  project: string;
  hosts: readonly string[];
  now?: Date;
  env?: NodeJS.ProcessEnv;
}): Promise<EnsuredLeaf> {
  const now = opts.now ?? new Date();
  const ca = await ensureCa({ now, env: opts.env });
  const paths = leafPaths(opts.project, opts.env);
  const base = { ...paths, caPem: ca.certPem, caPath: ca.certPath, caCreated: ca.created };

  const reason = currentLeafProblem(paths, opts.hosts, now, ca);
  if (reason === undefined) {
    const certPem = readFileSync(paths.certPath, 'utf8');
    const keyPem = readFileSync(paths.keyPath, 'utf8');
    return { ...base, certPem, keyPem, issued: false, notAfter: leafMeta(certPem).notAfter };
  }
  const leaf = await issueLeaf({ hosts: opts.hosts, ca, now });
  ensureDir(paths.dir);
  // Key first, then certificate, each by rename: a reader never sees a half-written file,
  // and a certificate on disk never names a key that is not there yet.
  const suffix = `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  writeSecretFile(paths.keyPath + suffix, leaf.keyPem);
  renameSync(paths.keyPath + suffix, paths.keyPath);
  writeFileSync(paths.certPath + suffix, leaf.certPem, { mode: 0o644 });
  renameSync(paths.certPath + suffix, paths.certPath);
  return { ...base, ...leaf, issued: true, reason, notAfter: leafMeta(leaf.certPem).notAfter };
}

/** Why the stored leaf cannot be kept (a message), or undefined when it can. */
function currentLeafProblem(
  paths: LeafPaths,
  hosts: readonly string[],
  now: Date,
  ca: LoadedCa,
): string | undefined {
  if (!existsSync(paths.certPath) || !existsSync(paths.keyPath)) return 'there is no certificate yet';
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(paths.certPath, 'utf8');
    keyPem = readFileSync(paths.keyPath, 'utf8');
    if (!keyMatchesCert(keyPem, certPem)) return 'its key does not match the certificate';
    return needsRenewal(leafMeta(certPem), hosts, now, ca.meta)?.message;
  } catch (err) {
    if (err instanceof DevenvError) throw err; // bad hosts: bad input, not a broken file
    return 'the stored certificate cannot be read';
  }
}
