/**
 * The one entry point to the X.509 library (@peculiar/x509) for the rest of src/tls.
 *
 * @peculiar/x509 resolves its algorithm providers through tsyringe, which refuses to load
 * without a Reflect metadata polyfill; importing it from here guarantees the polyfill is
 * evaluated first (ES modules evaluate their imports in order), and that the library signs
 * with Node's own WebCrypto. Also the small PEM/key helpers that every TLS module shares.
 *
 * No file I/O here.
 */
import 'reflect-metadata';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  X509Certificate as NodeX509,
  type webcrypto,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/** ECDSA P-256 everywhere: small, fast, accepted by every TLS stack devenv's users meet. */
export const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  /** PKCS#8 "PRIVATE KEY" PEM. A secret: callers store it 0600 and never print it. */
  keyPem: string;
  keys: webcrypto.CryptoKeyPair;
}

export async function generateKeyPair(): Promise<KeyPairPem> {
  const keys = (await crypto.subtle.generateKey(EC_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** A PEM private key as a WebCrypto signing key (the form @peculiar/x509 signs with). */
export function signingKeyFromPem(keyPem: string): Promise<webcrypto.CryptoKey> {
  return Promise.resolve(createPrivateKey(keyPem).toCryptoKey(EC_ALGORITHM, false, ['sign']));
}

/** Whether a PEM private key belongs to a PEM certificate (same public key). */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    const fromCert = new NodeX509(certPem).publicKey.export({ type: 'spki', format: 'der' });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}

/** SHA-256 fingerprint of a PEM certificate's DER, as lower-case hex without separators. */
export function certFingerprint(certPem: string): string {
  return createHash('sha256').update(new NodeX509(certPem).raw).digest('hex');
}

/** The same fingerprint in the colon-separated upper-case form browsers and openssl show. */
export function formatFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

/**
 * A random positive serial number (RFC 5280: at most 20 octets, positive, unique per CA;
 * CA/B Forum: at least 64 bits of randomness). 16 bytes with the top bit cleared.
 */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10;
  return Buffer.from(bytes).toString('hex');
}
