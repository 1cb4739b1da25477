/**
 * Preloaded (NODE_OPTIONS=--require) into the demo and every Yarn it starts:
 * any socket to a host other than the loopback is refused and logged to
 * $SIGSTORE_NO_NETWORK_LOG, so the demo test can prove it stayed on 127.0.0.1.
 */
const net = require('node:net');
const fs = require('node:fs');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
const connect = net.Socket.prototype.connect;

function targetOf(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') return first.path ? null : { host: first.host ?? 'localhost', port: first.port };
  if (typeof first === 'string' && !/^\d+$/.test(first)) return null; // a unix socket path
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
}

net.Socket.prototype.connect = function (...args) {
  const target = targetOf(args);
  if (target && !LOOPBACK.has(target.host)) {
    if (process.env.SIGSTORE_NO_NETWORK_LOG) fs.appendFileSync(process.env.SIGSTORE_NO_NETWORK_LOG, `${process.pid} ${target.host}:${target.port}\n`);
    const error = Object.assign(new Error(`network access beyond loopback refused: ${target.host}:${target.port}`), { code: 'ECONNREFUSED' });
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};
