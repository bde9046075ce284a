/**
 * Renewal policy (pure, fixed clock) and the stored CA/leaf reconcile (real files in a
 * temporary DEVENV_STATE_DIR): issued once, kept while good, re-issued for exactly the
 * documented reasons; private keys 0600.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevenvError } from '../../src/errors.ts';
import { type LeafMeta, needsRenewal, RENEW_BEFORE_DAYS } from '../../src/tls/leaf.ts';
import { caPaths, ensureCa, ensureLeaf, leafPaths } from '../../src/tls/store.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2030-06-01T12:00:00Z');
const CA = { subject: 'CN=devenv local CA (ana@laptop), O=devenv', subjectKeyId: 'aa11' };
const HOSTS = ['chat.social.localhost'];

function meta(over: Partial<LeafMeta> = {}): LeafMeta {
  return {
    dnsNames: ['chat.social.localhost', 'localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    notBefore: new Date(NOW.getTime() - 10 * DAY),
    notAfter: new Date(NOW.getTime() + 300 * DAY),
    issuer: CA.subject,
    authorityKeyId: CA.subjectKeyId,
    ...over,
  };
}

describe('needsRenewal (pure)', () => {
  it('keeps a good certificate', () => {
    expect(needsRenewal(meta(), HOSTS, NOW, CA)).toBeUndefined();
    // order, case and duplicates of the wanted hosts do not matter
    expect(needsRenewal(meta(), ['CHAT.social.localhost', 'chat.social.localhost'], NOW, CA)).toBeUndefined();
  });

  it(`renews with fewer than ${RENEW_BEFORE_DAYS} days left, not before`, () => {
    const at = (days: number) => meta({ notAfter: new Date(NOW.getTime() + days * DAY) });
    expect(needsRenewal(at(RENEW_BEFORE_DAYS + 1), HOSTS, NOW, CA)).toBeUndefined();
    expect(needsRenewal(at(RENEW_BEFORE_DAYS), HOSTS, NOW, CA)).toBeUndefined();
    expect(needsRenewal(at(RENEW_BEFORE_DAYS - 0.5), HOSTS, NOW, CA)).toEqual({
      code: 'expiring',
      message: 'it expires in 29 days (< 30)',
    });
    expect(needsRenewal(at(1), HOSTS, NOW, CA)?.code).toBe('expiring');
    expect(needsRenewal(at(0), HOSTS, NOW, CA)?.code).toBe('expired');
    expect(needsRenewal(at(-5), HOSTS, NOW, CA)?.message).toBe('it expired on 2030-05-27T12:00:00.000Z');
  });

  it('renews a certificate that is not valid yet (clock moved back)', () => {
    expect(needsRenewal(meta({ notBefore: new Date(NOW.getTime() + DAY) }), HOSTS, NOW, CA)?.code).toBe(
      'not-yet-valid',
    );
  });

  it('renews when the hosts changed, saying which', () => {
    expect(needsRenewal(meta(), ['chat.social.localhost', 'ws.social.localhost'], NOW, CA)).toEqual({
      code: 'hosts-changed',
      message: 'its host names changed (+ws.social.localhost)',
    });
    expect(needsRenewal(meta(), ['talk.social.localhost'], NOW, CA)?.message).toBe(
      'its host names changed (+talk.social.localhost, -chat.social.localhost)',
    );
    // an IP name missing (older policy) also counts
    expect(needsRenewal(meta({ ipAddresses: ['127.0.0.1'] }), HOSTS, NOW, CA)?.code).toBe('hosts-changed');
  });

  it('renews when the CA changed: other issuer name, or same name with another key', () => {
    expect(needsRenewal(meta({ issuer: 'CN=someone else' }), HOSTS, NOW, CA)?.code).toBe('ca-changed');
    expect(needsRenewal(meta({ authorityKeyId: 'bb22' }), HOSTS, NOW, CA)?.code).toBe('ca-changed');
    // CA change wins over everything else: the old chain is not trusted at all
    expect(
      needsRenewal(meta({ authorityKeyId: 'bb22', notAfter: new Date(NOW.getTime() + DAY) }), HOSTS, NOW, CA)
        ?.code,
    ).toBe('ca-changed');
  });
});

describe('ensureCa / ensureLeaf (files in a temporary state directory)', () => {
  let state: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'devenv-state-'));
    env = { DEVENV_STATE_DIR: state };
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  const mode = (p: string) => statSync(p).mode & 0o777;

  it('creates the CA once, with the key 0600 in a 0700 directory', async () => {
    const first = await ensureCa({ env, now: NOW, user: 'ana', host: 'laptop' });
    expect(first.created).toBe(true);
    expect(first.certPath).toBe(join(state, 'ca', 'ca.crt'));
    expect(mode(first.keyPath)).toBe(0o600);
    expect(mode(first.dir)).toBe(0o700);
    expect(first.meta.subject).toBe('CN=devenv local CA (ana@laptop), O=devenv');
    const again = await ensureCa({ env, now: NOW });
    expect(again.created).toBe(false);
    expect(again.meta.fingerprint).toBe(first.meta.fingerprint);
  });

  it('two concurrent creators end with ONE CA (matching key and certificate)', async () => {
    const [a, b] = await Promise.all([ensureCa({ env, now: NOW }), ensureCa({ env, now: NOW })]);
    expect(a.meta.fingerprint).toBe(b.meta.fingerprint);
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
    expect(a.keyPem).toBe(b.keyPem);
  });

  it('refuses an incomplete or broken CA instead of silently replacing it', async () => {
    const ca = await ensureCa({ env, now: NOW });
    rmSync(ca.keyPath);
    await expect(ensureCa({ env, now: NOW })).rejects.toThrow(/incomplete: .*ca\.key is missing/);
    writeFileSync(ca.keyPath, 'garbage', { mode: 0o600 });
    const err = await ensureCa({ env, now: NOW }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DevenvError);
    expect((err as DevenvError).message).toMatch(/cannot be used: the CA key does not belong/);
    expect((err as DevenvError).message).not.toContain('garbage');
  });

  it('issues a leaf once, keeps it, and renews it for hosts, time and CA changes', async () => {
    const first = await ensureLeaf({ project: 'social', hosts: HOSTS, env, now: NOW });
    expect(first).toMatchObject({ issued: true, reason: 'there is no certificate yet', caCreated: true });
    expect(first.certPath).toBe(join(state, 'projects', 'social', 'tls', 'tls.crt'));
    expect(mode(first.keyPath)).toBe(0o600);
    expect(mode(leafPaths('social', env).dir)).toBe(0o700);
    expect(readFileSync(first.keyPath, 'utf8')).toBe(first.keyPem);
    expect(first.caPem).toBe(readFileSync(caPaths(env).certPath, 'utf8'));

    const kept = await ensureLeaf({
      project: 'social',
      hosts: HOSTS,
      env,
      now: new Date(NOW.getTime() + DAY),
    });
    expect(kept).toMatchObject({
      issued: false,
      caCreated: false,
      certPem: first.certPem,
      keyPem: first.keyPem,
    });
    expect(kept.reason).toBeUndefined();

    const moreHosts = await ensureLeaf({
      project: 'social',
      hosts: [...HOSTS, 'ws.social.localhost'],
      env,
      now: NOW,
    });
    expect(moreHosts.issued).toBe(true);
    expect(moreHosts.reason).toBe('its host names changed (+ws.social.localhost)');
    expect(moreHosts.keyPem).not.toBe(first.keyPem);

    const later = new Date(NOW.getTime() + 370 * DAY); // 397-day leaf: < 30 days left
    const renewed = await ensureLeaf({
      project: 'social',
      hosts: [...HOSTS, 'ws.social.localhost'],
      env,
      now: later,
    });
    expect(renewed.issued).toBe(true);
    expect(renewed.reason).toMatch(/^it expires in 2\d days \(< 30\)$/);
    expect(renewed.notAfter.getTime()).toBeGreaterThan(later.getTime() + 390 * DAY);
    expect(mode(renewed.keyPath)).toBe(0o600);

    // A new CA (the old one deleted): the leaf is re-issued under it.
    rmSync(caPaths(env).dir, { recursive: true });
    const newCa = await ensureLeaf({
      project: 'social',
      hosts: [...HOSTS, 'ws.social.localhost'],
      env,
      now: later,
    });
    expect(newCa).toMatchObject({ issued: true, caCreated: true });
    expect(newCa.reason).toBe('it was signed by a different certificate authority');
  });

  it('re-issues when the stored key does not match the stored certificate', async () => {
    const first = await ensureLeaf({ project: 'social', hosts: HOSTS, env, now: NOW });
    const other = await ensureLeaf({ project: 'other', hosts: HOSTS, env, now: NOW });
    writeFileSync(first.keyPath, other.keyPem, { mode: 0o600 });
    const fixed = await ensureLeaf({ project: 'social', hosts: HOSTS, env, now: NOW });
    expect(fixed).toMatchObject({ issued: true, reason: 'its key does not match the certificate' });
    expect(readdirSync(leafPaths('social', env).dir).sort()).toEqual(['tls.crt', 'tls.key']); // no temp files left
  });

  it('rejects a host that is not a DNS name with a bad-input error (exit 2), creating no leaf', async () => {
    const err = await ensureLeaf({ project: 'social', hosts: ['not a host'], env, now: NOW }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DevenvError);
    expect((err as DevenvError).exitCode).toBe(2);
    expect(existsSync(leafPaths('social', env).certPath)).toBe(false);
  });
});
