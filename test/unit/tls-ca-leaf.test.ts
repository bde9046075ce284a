/**
 * The local CA and leaf certificates, checked by tools other than the one that made them:
 * Node's X509Certificate (OpenSSL inside Node) and the `openssl` binary itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { type CaMaterial, caCommonName, caMeta, caProblem, createCa } from '../../src/tls/ca.ts';
import { issueLeaf, type LeafMaterial, leafMeta, wantedNames } from '../../src/tls/leaf.ts';
import { CA_CONFIGMAP_NAME, tlsObjects } from '../../src/tls/objects.ts';
import { certFingerprint, keyMatchesCert } from '../../src/tls/x509.ts';

const DAY = 24 * 60 * 60 * 1000;
const HOSTS = ['chat.social.localhost'];
const openssl = spawnSync('openssl', ['version']).status === 0;

let dir: string;
let ca: CaMaterial;
let leaf: LeafMaterial;
let now: Date;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devenv-tls-'));
  now = new Date();
  ca = await createCa({ commonName: caCommonName('ana', 'laptop'), now });
  leaf = await issueLeaf({ hosts: HOSTS, ca, now });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'leaf.crt'), leaf.certPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local CA', () => {
  it('is a P-256 CA named after user and host, valid for 10 years', () => {
    const c = new X509Certificate(ca.certPem);
    expect(c.ca).toBe(true);
    expect(c.subject).toBe('CN=devenv local CA (ana@laptop)\nO=devenv');
    expect(c.issuer).toBe(c.subject);
    expect(c.publicKey.asymmetricKeyType).toBe('ec');
    expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(c.verify(c.publicKey)).toBe(true); // self-signed
    const years = (new Date(c.validTo).getTime() - new Date(c.validFrom).getTime()) / (365.25 * DAY);
    expect(years).toBeGreaterThan(9.99);
    expect(years).toBeLessThan(10.01);
    expect(new Date(c.validFrom).getTime()).toBeLessThanOrEqual(now.getTime());
    expect(keyMatchesCert(ca.keyPem, ca.certPem)).toBe(true);
    expect(caProblem(ca, now)).toBeUndefined();
    expect(caMeta(ca.certPem).subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
  });

  it.skipIf(!openssl)(
    'has basicConstraints CA:TRUE pathlen:0 and keyUsage keyCertSign+cRLSign, both critical',
    () => {
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'ca.crt'), '-noout', '-text'], {
        encoding: 'utf8',
      });
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
      expect(text).toContain('ASN1 OID: prime256v1');
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    },
  );

  it('names contain no characters that would confuse a DN reader', () => {
    expect(caCommonName('a,b=c', 'h+o"st')).toBe('devenv local CA (abc@host)');
  });

  it('reports a CA whose key does not match, instead of using it', async () => {
    const other = await createCa({ commonName: 'x', now });
    expect(caProblem({ certPem: ca.certPem, keyPem: other.keyPem }, now)).toMatch(/key does not belong/);
    expect(caProblem(ca, new Date(now.getTime() + 11 * 365 * DAY))).toMatch(/expired/);
  });
});

describe('leaf certificate', () => {
  it('carries the project hosts, localhost, 127.0.0.1 and ::1', () => {
    const c = new X509Certificate(leaf.certPem);
    expect(c.subjectAltName).toBe(
      'DNS:chat.social.localhost, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(c.checkHost('chat.social.localhost')).toBe('chat.social.localhost');
    expect(c.checkHost('localhost')).toBe('localhost');
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.checkIP('::1')).toBe('::1');
    expect(c.checkHost('chat.other.localhost')).toBeUndefined();
    expect(c.subject).toBe('CN=chat.social.localhost\nO=devenv');
  });

  it('is a P-256 server certificate (EKU serverAuth), not a CA, valid 397 days', () => {
    const c = new X509Certificate(leaf.certPem);
    expect(c.ca).toBe(false);
    expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // Node lists the EXTENDED key usage here
    expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const days = (new Date(c.validTo).getTime() - new Date(c.validFrom).getTime()) / DAY;
    expect(days).toBe(397);
    expect(keyMatchesCert(leaf.keyPem, leaf.certPem)).toBe(true);
    expect(keyMatchesCert(ca.keyPem, leaf.certPem)).toBe(false);
  });

  it('chains to the CA (Node: checkIssued and verify with the CA public key)', async () => {
    const c = new X509Certificate(leaf.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(c.checkIssued(caCert)).toBe(true);
    expect(c.verify(caCert.publicKey)).toBe(true);
    const stranger = new X509Certificate(
      (await createCa({ commonName: caCommonName('ana', 'laptop'), now })).certPem,
    );
    expect(c.verify(stranger.publicKey)).toBe(false);
    // same subject, different key: the authority key identifier tells them apart
    expect(leafMeta(leaf.certPem).authorityKeyId).toBe(caMeta(ca.certPem).subjectKeyId);
    expect(leafMeta(leaf.certPem).authorityKeyId).not.toBe(caMeta(stranger.toString()).subjectKeyId);
  });

  it.skipIf(!openssl)(
    'verifies with `openssl verify` for the TLS server purpose and the chat host name',
    async () => {
      const ok = spawnSync(
        'openssl',
        [
          'verify',
          '-CAfile',
          join(dir, 'ca.crt'),
          '-purpose',
          'sslserver',
          '-verify_hostname',
          'chat.social.localhost',
          join(dir, 'leaf.crt'),
        ],
        { encoding: 'utf8' },
      );
      expect(ok.stdout.trim(), ok.stderr).toBe(`${join(dir, 'leaf.crt')}: OK`);
      expect(ok.status).toBe(0);

      const wrongHost = spawnSync(
        'openssl',
        ['verify', '-CAfile', join(dir, 'ca.crt'), '-verify_hostname', 'evil.example', join(dir, 'leaf.crt')],
        { encoding: 'utf8' },
      );
      expect(wrongHost.status).not.toBe(0);
      expect(wrongHost.stderr + wrongHost.stdout).toMatch(/hostname mismatch/);

      const other = await createCa({ commonName: 'another CA', now });
      writeFileSync(join(dir, 'other.crt'), other.certPem);
      const bad = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'other.crt'), join(dir, 'leaf.crt')], {
        encoding: 'utf8',
      });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr + bad.stdout).toMatch(/unable to get local issuer certificate/);
    },
  );

  it.skipIf(!openssl)(
    'has keyUsage digitalSignature (critical) and extKeyUsage serverAuth per openssl',
    () => {
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.crt'), '-noout', '-text'], {
        encoding: 'utf8',
      });
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
      expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Authority Key Identifier:/);
    },
  );

  it('normalises host names and rejects what is not one, before generating anything', () => {
    expect(wantedNames(['Chat.Social.Localhost.', 'chat.social.localhost', '10.1.2.3'])).toEqual({
      dns: ['chat.social.localhost', 'localhost'],
      ips: ['10.1.2.3', '127.0.0.1', '::1'],
    });
    expect(() => wantedNames(['chat social'])).toThrow(DevenvError);
    expect(() => wantedNames(['https://chat.social.localhost'])).toThrow(/not a valid DNS name/);
  });
});

describe('tlsObjects', () => {
  it('builds a kubernetes.io/tls Secret and a devenv-ca ConfigMap without the key', () => {
    const labels = { 'dev.devenv/project': 'social', 'app.kubernetes.io/managed-by': 'devenv' };
    const { secret, configMap } = tlsObjects({
      namespace: 'social',
      secretName: 'devenv-tls',
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      caPem: ca.certPem,
      labels,
    });
    expect(secret).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'devenv-tls', namespace: 'social', labels },
    });
    const decode = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    expect(decode(secret.data['tls.crt'])).toBe(leaf.certPem);
    expect(decode(secret.data['tls.key'])).toBe(leaf.keyPem);
    expect(decode(secret.data['ca.crt'])).toBe(ca.certPem);
    expect(secret.metadata.annotations['dev.devenv/tls-cert-sha256']).toBe(certFingerprint(leaf.certPem));
    expect(configMap).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CA_CONFIGMAP_NAME, namespace: 'social', labels },
      data: { 'ca.crt': ca.certPem },
    });
    expect(JSON.stringify(configMap)).not.toContain('PRIVATE KEY');
    // plain data: a caller mutating its labels afterwards does not change the objects
    (labels as Record<string, string>).extra = 'x';
    expect(secret.metadata.labels).not.toHaveProperty('extra');
  });
});
