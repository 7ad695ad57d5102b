import net from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0). Another
 * process may take it before the server binds it, so launchers retry on "address in use".
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the allocated port'));
      });
    });
  });
}

/**
 * Connects, writes `request`, and collects what the server answers until `done` says the
 * answer is complete. Rejects on refusal, on close before completion and on timeout. This is
 * the cheap protocol-level probe the launchers use (MQTT CONNECT, NATS PING, Redis PING).
 */
export function exchange(
  host: string,
  port: number,
  request: Buffer | string,
  done: (received: Buffer) => boolean,
  timeoutMs = 2_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(received);
    };
    socket.setTimeout(timeoutMs, () =>
      finish(new Error(`no complete answer from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (done(received)) finish(null);
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () =>
      finish(new Error(`${host}:${port} closed the connection before answering`)),
    );
  });
}
