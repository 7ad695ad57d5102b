// The `mqft` executable (bin/mqft.js loads this through tsx).
import { processIo } from './io.js';
import { main } from './main.js';

const code = await main(process.argv.slice(2), processIo());
// Open handles (an MQTT socket being closed, a gRPC channel) must not delay the exit.
process.exit(code);
