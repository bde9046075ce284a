/**
 * One secure-WebSocket round trip, as the chat's clients make it: connect (SNI and host-name
 * verification for `servername`, however the address is dialled), send `message`, read the
 * echo. Resolves with the echo and the SHA-256 fingerprint of the certificate the server
 * presented (to tell the service's own leaf, i.e. a passthrough, from a proxy's); rejects
 * with the TLS or WebSocket error (e.g. a certificate not signed by `ca`).
 */
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';

export interface WssEcho {
  echoed: string;
  fingerprint: string;
}

export function wssEcho(opts: {
  url: string;
  servername: string;
  /** Trusted CA (PEM); without it only the system's CAs are trusted. */
  ca?: string;
  /** A Host header other than the URL's (a proxy routing by Host). */
  host?: string;
  message: string;
}): Promise<WssEcho> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url, {
      servername: opts.servername,
      ...(opts.host ? { headers: { host: opts.host } } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      handshakeTimeout: 10_000,
    } as WebSocket.ClientOptions);
    ws.on('open', () => {
      const peer = (ws as unknown as { _socket: TLSSocket })._socket.getPeerX509Certificate();
      ws.send(opts.message);
      ws.once('message', (data) => {
        resolve({ echoed: data.toString(), fingerprint: peer?.fingerprint256 ?? '' });
        ws.close();
      });
    });
    ws.on('error', reject);
  });
}

/** wssEcho, retried once a second until it succeeds or `tries` run out (routes take a moment). */
export async function wssEchoEventually(opts: Parameters<typeof wssEcho>[0], tries = 60): Promise<WssEcho> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await wssEcho(opts);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`wss ${opts.servername} via ${opts.url}: ${String(last)}`);
}
