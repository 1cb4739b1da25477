/**
 * A real TUF repository for tests: metadata made and signed with
 * @tufjs/models (keys generated here), written as files and served over HTTP
 * on 127.0.0.1 with consistent snapshots, the layout Sigstore's repository uses.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';

const DAY_MS = 24 * 60 * 60 * 1000;

class SigningKey {
  private readonly privateKey: KeyObject;
  readonly publicKey: Key;

  constructor() {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = pair.privateKey;
    const meta = {
      keyType: 'ecdsa-sha2-nistp256',
      scheme: 'ecdsa-sha2-nistp256',
      keyVal: { public: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString() },
    };
    this.publicKey = new Key({ keyID: sha256(JSON.stringify(meta)), ...meta });
  }

  sign = (data: Buffer): Signature =>
    new Signature({ keyID: this.publicKey.keyID, sig: sign('sha256', data, this.privateKey).toString('hex') });
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function expiresIn(days: number): string {
  return new Date(Date.now() + days * DAY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function metaFileOf(bytes: Buffer, version: number): MetaFile {
  return new MetaFile({ version, length: bytes.length, hashes: { sha256: sha256(bytes) } });
}

export interface PublishOptions {
  /** Days until the timestamp expires; negative for one already expired. */
  timestampExpiresInDays?: number;
}

export class TufTestRepository {
  private key = new SigningKey();
  private readonly targets = new Map<string, Buffer>();
  private version = 0;
  private rootVersion = 1;
  /** Exactly what the server answers: path -> bytes. */
  files = new Map<string, Buffer>();
  readonly rootJson: string;

  constructor() {
    this.rootJson = this.signRoot([this.key]);
  }

  /** Publishes the next root version, trusting only a new key, signed by the old and the new key. */
  rotateKeys(): void {
    const previous = this.key;
    this.key = new SigningKey();
    this.rootVersion += 1;
    this.signRoot([previous, this.key]);
  }

  private signRoot(signers: SigningKey[]): string {
    const root = new Metadata(new Root({ version: this.rootVersion, specVersion: '1.0.31', expires: expiresIn(365), consistentSnapshot: true }));
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) root.signed.addKey(this.key.publicKey, role);
    for (const signer of signers) root.sign(signer.sign);
    const json = JSON.stringify(root.toJSON());
    this.files.set(`${this.rootVersion}.root.json`, Buffer.from(json));
    return json;
  }

  setTarget(name: string, content: string): this {
    this.targets.set(name, Buffer.from(content));
    return this;
  }

  /** Signs a new version of targets, snapshot and timestamp and puts them online. */
  publish({ timestampExpiresInDays = 1 }: PublishOptions = {}): number {
    this.version += 1;
    const version = this.version;
    const targets = new Metadata(new Targets({ version, specVersion: '1.0.31', expires: expiresIn(30) }));
    for (const [name, bytes] of this.targets) {
      targets.signed.addTarget(new TargetFile({ path: name, length: bytes.length, hashes: { sha256: sha256(bytes) } }));
      const slash = name.lastIndexOf('/');
      this.files.set(`targets/${name.slice(0, slash + 1)}${sha256(bytes)}.${name.slice(slash + 1)}`, bytes);
    }
    const targetsBytes = this.signed(targets);
    this.files.set(`${version}.targets.json`, targetsBytes);

    const snapshot = new Metadata(new Snapshot({ version, specVersion: '1.0.31', expires: expiresIn(30), meta: { 'targets.json': metaFileOf(targetsBytes, version) } }));
    const snapshotBytes = this.signed(snapshot);
    this.files.set(`${version}.snapshot.json`, snapshotBytes);

    const timestamp = new Metadata(new Timestamp({ version, specVersion: '1.0.31', expires: expiresIn(timestampExpiresInDays), snapshotMeta: metaFileOf(snapshotBytes, version) }));
    this.files.set('timestamp.json', this.signed(timestamp));
    return version;
  }

  /** A copy of what is online now, to serve again later (a rollback). */
  snapshotFiles(): Map<string, Buffer> {
    return new Map(this.files);
  }

  private signed(metadata: Metadata<Targets | Snapshot | Timestamp>): Buffer {
    metadata.sign(this.key.sign);
    return Buffer.from(JSON.stringify(metadata.toJSON()));
  }
}

export interface ServedRepository {
  url: string;
  /** Every path requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function serveRepository(repository: TufTestRepository): Promise<ServedRepository> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\//, ''));
    requests.push(path);
    const body = repository.files.get(path);
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
