/**
 * devenv's local certificate authority: one per machine (per state directory), created once,
 * trusted once by the developer (`devenv trust`), then used to sign every project's leaf
 * certificates, so that renewing a leaf never asks for trust again.
 *
 * The CA is deliberately narrow: ECDSA P-256, 10 years, basicConstraints CA:true with
 * pathlen 0 (it can sign leaves, never another CA), keyUsage keyCertSign + cRLSign only.
 * Its subject names the user and the machine, so that a developer who finds it in a trust
 * store knows where it came from.
 *
 * No file I/O: store.ts keeps the files. Generation uses WebCrypto (randomness only).
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import {
  certFingerprint,
  generateKeyPair,
  keyMatchesCert,
  randomSerial,
  SIGNING_ALGORITHM,
  x509,
} from './x509.ts';

export const CA_VALIDITY_YEARS = 10;
/** Certificates start an hour in the past so that a peer whose clock lags a little accepts them. */
export const BACKDATE_MS = 60 * 60 * 1000;

export interface CaMaterial {
  certPem: string;
  /** PKCS#8 PEM. A secret: stored 0600, never printed, never copied into a trust store. */
  keyPem: string;
}

/** What the rest of devenv needs to know about a CA certificate (no key material). */
export interface CaMeta {
  /** RFC 4514-style subject, e.g. "CN=devenv local CA (ana@laptop), O=devenv". */
  subject: string;
  /** Hex subject key identifier: leaves carry it as their authority key identifier. */
  subjectKeyId: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER certificate, lower-case hex. */
  fingerprint: string;
}

/** "devenv local CA (user@host)", with characters that would confuse a DN reader removed. */
export function caCommonName(user: string, host: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '') || 'unknown';
  return `devenv local CA (${clean(user)}@${clean(host)})`;
}

export async function createCa(opts: { commonName: string; now: Date }): Promise<CaMaterial> {
  const { keys, keyPem } = await generateKeyPair();
  const notBefore = new Date(opts.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.commonName] }, { O: ['devenv'] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem };
}

export function caMeta(certPem: string): CaMeta {
  const cert = new x509.X509Certificate(certPem);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return {
    subject: cert.subject,
    subjectKeyId: ski?.keyId ?? '',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint: certFingerprint(certPem),
  };
}

/**
 * Why stored CA material cannot be used, or undefined if it can. devenv never replaces a
 * broken CA silently: the old one may be trusted somewhere, and a new one would need trusting
 * again, so the caller reports this and lets the developer decide.
 */
export function caProblem(ca: CaMaterial, now: Date): string | undefined {
  let cert: NodeX509;
  try {
    cert = new NodeX509(ca.certPem);
  } catch {
    return 'the CA certificate cannot be parsed';
  }
  if (!cert.ca) return 'the CA certificate is not a CA certificate (basicConstraints CA:false)';
  if (!keyMatchesCert(ca.keyPem, ca.certPem)) return 'the CA key does not belong to the CA certificate';
  if (new Date(cert.validTo).getTime() <= now.getTime())
    return `the CA certificate expired on ${cert.validTo}`;
  return undefined;
}

/**
 * A short, stable id of a CA (first 12 hex digits of its SHA-256 fingerprint): names the
 * files and NSS nicknames devenv writes into trust stores, so that two devenv CAs never
 * collide and uninstalling removes exactly the one devenv wrote.
 */
export function caId(certPem: string): string {
  return certFingerprint(certPem).slice(0, 12);
}
