// `pnpm start`: the whole mqft system on this machine, as processes — the project's Mosquitto
// (with the loopback bridge), NATS and Redis (the running ones if reachable, else our own),
// ingest, assembler and control — then a demo device upload. Stays up until Ctrl-C.
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, MQFT_VARIABLES } from '@mqft/config';
import {
  handleSignalsYourself,
  REPO_ROOT,
  startMqftStack,
  startNats,
  startRedis,
  type MqftStack,
  type ServerHandle,
} from '@mqft/test-support';
import { runDemoUpload } from './demo.js';

const config = loadConfig({
  localMqttPort: MQFT_VARIABLES.localMqttPort,
  natsUrl: MQFT_VARIABLES.natsUrl,
  redisUrl: MQFT_VARIABLES.redisUrl,
  stream: MQFT_VARIABLES.stream,
  redisPrefix: MQFT_VARIABLES.redisPrefix,
  storage: MQFT_VARIABLES.storage,
  grpcAddr: MQFT_VARIABLES.grpcAddr,
  httpApiAddr: MQFT_VARIABLES.httpApiAddr,
});
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

handleSignalsYourself();
const nats = await reachableOrOwn(config.natsUrl, 'NATS', () => startNats());
const redis = await reachableOrOwn(config.redisUrl, 'Redis', () => startRedis());
let stack: MqftStack | undefined;
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await stack?.stop();
  await Promise.all([nats.own?.stop(), redis.own?.stop()]);
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  const storage = absoluteStorage(config.storage);
  stack = await startMqftStack({
    storage,
    mosquittoPort: await firstFreePort(config.localMqttPort),
    natsUrl: nats.url,
    redisUrl: redis.url,
    stream: config.stream,
    redisPrefix: config.redisPrefix,
    control: true,
    env: {
      MQFT_GRPC_ADDR: `${config.grpcAddr.host}:${config.grpcAddr.port}`,
      MQFT_HTTP_API_ADDR: `${config.httpApiAddr.host}:${config.httpApiAddr.port}`,
    },
  });
  say(`devices connect to ${stack.mqttUrl}`);
  say(`files are stored in ${storage}`);
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
  const demo = await runDemoUpload(stack.mqttUrl, say);
  say(`demo upload landed at ${demo.location}`);
  say('running; Ctrl-C stops everything');
} catch (err) {
  process.stderr.write(`[mqft] could not start: ${(err as Error).stack ?? String(err)}\n`);
  await stop(1);
}
