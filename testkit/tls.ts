/**
 * TLS for loopback tests: a certificate authority made on the spot (openssl),
 * certificates it issues for 127.0.0.1/localhost servers and for clients, and
 * an https front that hands every request to a plain-http server (the testkit
 * registry, a TUF repository), optionally requiring a client certificate from
 * that authority. Nothing here is trusted by the system: a client must be
 * given the authority's certificate.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

export interface IssuedCertificate {
  certPath: string;
  keyPath: string;
}

export interface TestCa {
  /** The authority's certificate (what a client sets as its CA file). */
  certPath: string;
  issue(name: string, use: 'server' | 'client'): IssuedCertificate;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function createTestCa(dir: string, name = 'Loopback Test CA'): TestCa {
  const slug = name.replace(/\W+/g, '-');
  const certPath = join(dir, `${slug}.pem`);
  const keyPath = join(dir, `${slug}.key`);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(['req', '-x509', ...EC_KEY, '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  let serial = 1;
  return {
    certPath,
    issue(subject, use) {
      const base = join(dir, `${slug}-${subject.replace(/\W+/g, '-')}`);
      const extensions = `${base}.ext`;
      writeFileSync(extensions, use === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
      openssl(['req', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${subject}`]);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', certPath, '-CAkey', keyPath, '-set_serial', String(serial++), '-days', '2', '-extfile', extensions, '-out', `${base}.pem`]);
      return { certPath: `${base}.pem`, keyPath: `${base}.key` };
    },
  };
}

export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The common name of the client certificate each request came with (`-` for none). */
  readonly clients: string[];
  close(): Promise<void>;
}

/** An https server with a certificate from `ca` that forwards every request to `upstream`; with `clientCertificate`, a client must show one from `ca`. */
export async function startTlsFront(upstream: string, ca: TestCa, options: { clientCertificate?: boolean } = {}): Promise<TlsFront> {
  const identity = ca.issue(options.clientCertificate ? 'mtls-server' : 'server', 'server');
  const clients: string[] = [];
  const server = https.createServer(
    { key: readFileSync(identity.keyPath), cert: readFileSync(identity.certPath), ca: readFileSync(ca.certPath), requestCert: options.clientCertificate === true, rejectUnauthorized: options.clientCertificate === true },
    (request, response) => {
      const peer = (request.socket as TLSSocket).getPeerCertificate();
      clients.push(peer && peer.subject ? String(peer.subject.CN) : '-');
      const forwarded = http.request(upstream + request.url, { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      forwarded.on('error', () => response.destroy());
      request.pipe(forwarded);
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    clients,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
