// The mqft command line as a library: `main` runs one command line and returns its exit code.
export { main, MAIN_USAGE } from './main.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export { processIo, type CliIo } from './io.js';
