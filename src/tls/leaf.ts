/**
 * Leaf (server) certificates signed by the local CA, for the service that terminates TLS
 * itself (the chat's secure WebSocket; the ingress passes the connection through).
 *
 * A leaf names the project's `tls.hosts` plus `localhost`, 127.0.0.1 and ::1 (so that a
 * port-forward or a test on the host verifies too); ECDSA P-256; keyUsage digitalSignature
 * only (ECDHE key exchange needs nothing else); extKeyUsage serverAuth; 397 days, under the
 * 398-day ceiling that Apple and browsers enforce on server certificates.
 *
 * `needsRenewal` is the whole renewal policy and is pure (clock passed in). No file I/O here.
 */
import { isIP } from 'node:net';
import { certHostProblem } from '../config/dns.ts';
import { badInput } from '../errors.ts';
import { BACKDATE_MS, type CaMaterial, type CaMeta } from './ca.ts';
import { generateKeyPair, randomSerial, SIGNING_ALGORITHM, signingKeyFromPem, x509 } from './x509.ts';

export const LEAF_VALIDITY_DAYS = 397;
/** Renew when fewer days than this are left: a month of margin for laptops left closed. */
export const RENEW_BEFORE_DAYS = 30;
/** Names every leaf carries besides the project's hosts. */
export const ALWAYS_DNS = ['localhost'] as const;
export const ALWAYS_IPS = ['127.0.0.1', '::1'] as const;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface LeafNames {
  dns: string[];
  ips: string[];
}

/**
 * The subject alternative names a leaf for `hosts` must carry: sorted, de-duplicated,
 * lower-cased; IP literals in `hosts` become IP names. Throws a bad-input error (exit 2)
 * for a host that is not a DNS name, before anything is generated.
 */
export function wantedNames(hosts: readonly string[]): LeafNames {
  const dns = new Set<string>(ALWAYS_DNS);
  const ips = new Set<string>(ALWAYS_IPS.map(normalizeIp));
  for (const raw of hosts) {
    const h = raw.trim().toLowerCase().replace(/\.$/, '');
    if (isIP(h) || isIP(h.replace(/^\[|\]$/g, ''))) ips.add(normalizeIp(h.replace(/^\[|\]$/g, '')));
    else {
      const problem = certHostProblem(h);
      if (problem) throw badInput(`tls.hosts: "${raw}" is not a valid DNS name: ${problem}`);
      dns.add(h);
    }
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

/** Canonical text of an IP address (so "0:0:0:0:0:0:0:1" and "::1" compare equal). */
export function normalizeIp(ip: string): string {
  if (isIP(ip) === 6) return new URL(`http://[${ip}]/`).hostname.replace(/^\[|\]$/g, '');
  return ip;
}

export interface LeafMaterial {
  certPem: string;
  /** PKCS#8 PEM. A secret: stored 0600, put only into the cluster's TLS Secret. */
  keyPem: string;
}

export async function issueLeaf(opts: {
  hosts: readonly string[];
  ca: CaMaterial;
  now: Date;
}): Promise<LeafMaterial> {
  const names = wantedNames(opts.hosts);
  const caCert = new x509.X509Certificate(opts.ca.certPem);
  const { keys, keyPem } = await generateKeyPair();
  const notBefore = new Date(opts.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore.getTime() + LEAF_VALIDITY_DAYS * DAY_MS);
  // The subject CN is informational only (clients match the SANs); the first project host
  // makes the certificate recognisable in a browser's certificate viewer.
  // (A CN is limited to 64 characters; a longer host name is still on the certificate as a SAN.)
  const first = opts.hosts.map((h) => h.trim().toLowerCase()).find((h) => names.dns.includes(h));
  const cn = first && first.length <= 64 ? first : 'localhost';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [cn] }, { O: ['devenv'] }],
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: await signingKeyFromPem(opts.ca.keyPem),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        [
          ...names.dns.map((value) => ({ type: 'dns' as const, value })),
          ...names.ips.map((value) => ({ type: 'ip' as const, value })),
        ],
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem };
}

/** What the renewal policy looks at in an existing leaf. */
export interface LeafMeta {
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  /** Hex authority key identifier, '' if the certificate has none. */
  authorityKeyId: string;
}

export function leafMeta(certPem: string): LeafMeta {
  const cert = new x509.X509Certificate(certPem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const items = san?.names.items ?? [];
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  return {
    dnsNames: items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()),
    ipAddresses: items.filter((n) => n.type === 'ip').map((n) => normalizeIp(n.value)),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuer: cert.issuer,
    authorityKeyId: aki?.keyId ?? '',
  };
}

export type RenewalCode = 'expired' | 'expiring' | 'not-yet-valid' | 'hosts-changed' | 'ca-changed';
export interface RenewalReason {
  code: RenewalCode;
  /** One line for the progress output, e.g. "expires in 12 days". */
  message: string;
}

/**
 * The renewal policy, pure: a leaf is re-issued when it was signed by another CA (issuer
 * name or authority key id differ from the current CA: the developer trusts only the
 * current one), when its names differ from what the config wants, when it is not valid at
 * `now`, or when fewer than RENEW_BEFORE_DAYS days are left. Otherwise undefined: keep it.
 */
export function needsRenewal(
  leaf: LeafMeta,
  wantedHosts: readonly string[],
  now: Date,
  ca: Pick<CaMeta, 'subject' | 'subjectKeyId'>,
): RenewalReason | undefined {
  if (leaf.issuer !== ca.subject || (ca.subjectKeyId !== '' && leaf.authorityKeyId !== ca.subjectKeyId)) {
    return { code: 'ca-changed', message: 'it was signed by a different certificate authority' };
  }
  const want = wantedNames(wantedHosts);
  const have = { dns: [...new Set(leaf.dnsNames)].sort(), ips: [...new Set(leaf.ipAddresses)].sort() };
  if (want.dns.join(',') !== have.dns.join(',') || want.ips.join(',') !== have.ips.join(',')) {
    const added = want.dns.filter((d) => !have.dns.includes(d));
    const removed = have.dns.filter((d) => !want.dns.includes(d));
    const parts = [...added.map((d) => `+${d}`), ...removed.map((d) => `-${d}`)];
    return {
      code: 'hosts-changed',
      message: `its host names changed${parts.length ? ` (${parts.join(', ')})` : ''}`,
    };
  }
  const t = now.getTime();
  if (t < leaf.notBefore.getTime()) {
    return { code: 'not-yet-valid', message: `it is not valid before ${leaf.notBefore.toISOString()}` };
  }
  if (t >= leaf.notAfter.getTime()) {
    return { code: 'expired', message: `it expired on ${leaf.notAfter.toISOString()}` };
  }
  const daysLeft = (leaf.notAfter.getTime() - t) / DAY_MS;
  if (daysLeft < RENEW_BEFORE_DAYS) {
    return {
      code: 'expiring',
      message: `it expires in ${Math.floor(daysLeft)} days (< ${RENEW_BEFORE_DAYS})`,
    };
  }
  return undefined;
}
