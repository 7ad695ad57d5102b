import net from 'node:net';

/**
 * A TCP proxy in front of Redis that counts what clients send: commands (RESP arrays, parsed)
 * and round trips (reads of client bytes, i.e. pipelined batches as the kernel delivers them).
 */
export class RedisCountingProxy {
  private constructor(
    private readonly server: net.Server,
    readonly url: string,
    private readonly counts: { commands: number; roundTrips: number },
  ) {}

  get commands(): number {
    return this.counts.commands;
  }
  get roundTrips(): number {
    return this.counts.roundTrips;
  }

  static async start(target: { host: string; port: number }): Promise<RedisCountingProxy> {
    const counts = { commands: 0, roundTrips: 0 };
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      const parser = new RespRequestCounter();
      client.on('data', (chunk) => {
        counts.roundTrips++;
        counts.commands += parser.feed(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    return new RedisCountingProxy(server, `redis://127.0.0.1:${port}`, counts);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Counts complete RESP request arrays (`*N` of `$len` bulk strings) in a byte stream. */
class RespRequestCounter {
  private buf: Buffer = Buffer.alloc(0);
  private remainingArgs = 0;

  feed(chunk: Buffer): number {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let count = 0;
    let at = 0;
    for (;;) {
      const eol = this.buf.indexOf('\r\n', at);
      if (eol < 0) break;
      const kind = this.buf[at];
      const n = Number(this.buf.toString('latin1', at + 1, eol));
      if (this.remainingArgs === 0) {
        // `*N`: a new command (inline commands are one line).
        at = eol + 2;
        if (kind === 0x2a) this.remainingArgs = n;
        if (this.remainingArgs === 0) count++;
        continue;
      }
      const end = eol + 2 + n + 2; // `$len\r\n<bytes>\r\n`
      if (end > this.buf.length) break;
      at = end;
      if (--this.remainingArgs === 0) count++;
    }
    this.buf = this.buf.subarray(at);
    return count;
  }
}
