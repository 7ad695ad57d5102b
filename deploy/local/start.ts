// `pnpm start`: the whole mqft system on this machine, as processes — the project's Mosquitto
// (with the loopback bridge; in the scoped layout locked down as docs/security.md says), NATS
// and Redis (the running ones if reachable, else our own), ingest, assembler and control —
// then a demo device upload in the configured layout. Stays up until Ctrl-C.
// Which MQFT_* variables reach the services, and which the stack owns: environment.ts.
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, MQFT_VARIABLES } from '@mqft/config';
import {
  handleSignalsYourself,
  REPO_ROOT,
  startMosquitto,
  startMqftStack,
  startNats,
  startRedis,
  startScopedMosquitto,
  type MqftStack,
  type ScopedMosquitto,
  type ServerHandle,
} from '@mqft/test-support';
import { DEMO_CLIENT_ID, runDemoUpload, type DemoLogin } from './demo.js';
import { serviceEnvironment } from './environment.js';

// Every documented variable, validated before anything starts (all problems at once).
const config = loadConfig(MQFT_VARIABLES);
const environment = serviceEnvironment(process.env, config.layout);
const say = (line: string) => process.stdout.write(`[mqft] ${line}\n`);

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port, timeout: 500 });
    socket.once('connect', () => done(!!socket.destroy()));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(!!socket.destroy() && false));
  });
}

async function firstFreePort(wanted: number): Promise<number> {
  for (let port = wanted; port < wanted + 100; port++) {
    if (!(await portOpen('127.0.0.1', port))) {
      if (port !== wanted) say(`port ${wanted} is taken (MQFT_LOCAL_MQTT_PORT); using ${port}`);
      return port;
    }
  }
  throw new Error(`no free port in ${wanted}–${wanted + 99}`);
}

/** The configured server if it answers, else one of our own for as long as we run. */
async function reachableOrOwn(url: string, what: string, start: () => Promise<ServerHandle>) {
  const first = new URL(url.split(',')[0] ?? url);
  if (await portOpen(first.hostname, Number(first.port))) {
    say(`${what}: using ${url}`);
    return { url, own: undefined };
  }
  const own = await start();
  say(`${what}: ${url} not reachable, started our own at ${own.url}`);
  return { url: own.url, own };
}

/** file://./relative paths are relative to the repository, where the services run. */
function absoluteStorage(storage: string): string {
  if (!storage.startsWith('file://') || storage.startsWith('file:///')) return storage;
  return pathToFileURL(resolve(REPO_ROOT, storage.slice('file://'.length))).href;
}

/**
 * The stack's Mosquitto: devices on MQFT_LOCAL_MQTT_PORT (or the next free port). In the
 * scoped layout the broker enforces the ACL of deploy/mosquitto/acl.example with a user per
 * service and one for the demo device; the services then have a listener of their own.
 */
async function startBroker(): Promise<{
  broker: ServerHandle;
  scoped: ScopedMosquitto | undefined;
  deviceUrl: string;
  demo: DemoLogin;
}> {
  const devicePort = await firstFreePort(config.localMqttPort);
  if (config.layout === 'scoped') {
    const scoped = await startScopedMosquitto({ devices: [DEMO_CLIENT_ID], devicePort });
    return {
      broker: scoped.broker,
      scoped,
      deviceUrl: scoped.deviceUrl,
      demo: {
        layout: 'scoped',
        username: DEMO_CLIENT_ID,
        password: scoped.password(DEMO_CLIENT_ID),
      },
    };
  }
  const broker = await startMosquitto({ port: devicePort });
  return { broker, scoped: undefined, deviceUrl: broker.url, demo: { layout: 'emqx' } };
}

handleSignalsYourself();
for (const { name, why } of environment.ignored)
  say(`${name} is ignored: the stack sets it (${why})`);
const nats = await reachableOrOwn(config.natsUrl, 'NATS', () => startNats());
const redis = await reachableOrOwn(config.redisUrl, 'Redis', () => startRedis());
let stack: MqftStack | undefined;
let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await stack?.stop();
  await (broker?.scoped ?? broker?.broker)?.stop();
  await Promise.all([nats.own?.stop(), redis.own?.stop()]);
  say('stopped');
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const storage = absoluteStorage(config.storage);
  broker = await startBroker();
  stack = await startMqftStack({
    storage,
    mqttUrl: broker.broker.url,
    layout: config.layout,
    natsUrl: nats.url,
    redisUrl: redis.url,
    stream: config.stream,
    redisPrefix: config.redisPrefix,
    control: true,
    // The user's variables first, then what the stack resolved from them (NATS and Redis
    // may be our own, a relative storage path is made absolute).
    env: {
      ...environment.passed,
      MQFT_NATS_URL: nats.url,
      MQFT_REDIS_URL: redis.url,
      MQFT_STORAGE: storage,
      MQFT_GRPC_ADDR: `${config.grpcAddr.host}:${config.grpcAddr.port}`,
      MQFT_HTTP_API_ADDR: `${config.httpApiAddr.host}:${config.httpApiAddr.port}`,
    },
    ...(broker.scoped ? { serviceEnv: broker.scoped.serviceEnv } : {}),
  });
  say(`layout: ${config.layout}`);
  say(`devices connect to ${broker.deviceUrl}`);
  if (broker.scoped) {
    say(
      `  as MQTT user = their clientId; the users are in ${broker.scoped.passwordFile} ` +
        `(add one: mosquitto_passwd -b FILE CLIENTID PASSWORD, then kill -HUP ${broker.broker.pid})`,
    );
  }
  say(`files are stored in ${storage}`);
  say(`stream ${stack.stream}, Redis prefix ${stack.redisPrefix}`);
  say(`gRPC API: ${stack.env.MQFT_GRPC_ADDR}`);
  say(`HTTP API and console: http://${stack.env.MQFT_HTTP_API_ADDR}/console/`);
  for (const service of [
    ...stack.ingests,
    ...stack.assemblers,
    ...(stack.control ? [stack.control] : []),
  ]) {
    say(
      `${service.logFile.split('/').at(-1) ?? ''}: metrics ${service.url}/metrics, log ${service.logFile}`,
    );
  }
  const demo = await runDemoUpload(broker.deviceUrl, broker.demo, say);
  say(`demo upload landed at ${demo.location}`);
  say('running; Ctrl-C stops everything');
} catch (err) {
  process.stderr.write(`[mqft] could not start: ${(err as Error).stack ?? String(err)}\n`);
  await stop(1);
}
