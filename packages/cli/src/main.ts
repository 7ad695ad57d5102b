import { UsageError } from './args.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';
import { runTransfers } from './transfers-command.js';
import { runUpload } from './upload-command.js';

export const MAIN_USAGE = `Usage: mqft <command> [options]

Commands:
  upload FILE       upload a file as a device over MQTT (mqft device protocol)
  transfers list    list transfers                     (control API)
  transfers get     show one transfer                  (control API)
  transfers watch   follow transfers as they change    (control API)
  transfers abort   abort a transfer                   (control API)
  transfers url     a download URL for a stored file   (control API)

Run \`mqft <command> --help\` for a command's options. Every command takes --json.`;

/** Runs one command line; resolves with the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'upload':
        return await runUpload(rest, io);
      case 'transfers':
        return await runTransfers(rest, io);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        io.stdout.write(`${MAIN_USAGE}\n`);
        return command === undefined ? ExitCode.Usage : ExitCode.Ok;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`mqft: ${err.message}\nRun \`mqft ${command ?? ''} --help\` for usage.\n`);
      return ExitCode.Usage;
    }
    io.stderr.write(`mqft: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.Error;
  }
}
