import { describe, expect, it } from 'vitest';
import { UsageError, parseDuration, parseSize } from '../src/args.js';
import { envReader } from '../src/env.js';
import { formatBytes, formatDuration, formatTable } from '../src/format.js';
import { summary } from '../src/progress-view.js';
import { parseUploadArgs } from '../src/upload-args.js';

const noWarning = (line: string) => {
  throw new Error(`unexpected warning: ${line}`);
};
const noEnv = envReader({}, noWarning);

describe('argument parsing', () => {
  it('sizes and durations', () => {
    expect(parseSize('65536', 'x')).toBe(65536);
    expect(parseSize('64k', 'x')).toBe(65536);
    expect(parseSize('1.5M', 'x')).toBe(1572864);
    expect(parseSize('2MiB/s', 'x')).toBe(2097152);
    expect(() => parseSize('fast', 'x')).toThrow(UsageError);
    expect(() => parseSize('0', 'x')).toThrow(UsageError);
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('10', 'x')).toBe(10_000);
    expect(parseDuration('2m', 'x')).toBe(120_000);
    expect(() => parseDuration('soon', 'x')).toThrow(UsageError);
  });

  it('mqft upload options become SDK options', () => {
    const args = parseUploadArgs(
      [
        'f.bin',
        '--client-id',
        'dev',
        '--segment-size',
        '16k',
        '--window',
        '4',
        '--bandwidth',
        '1M',
      ],
      envReader({ MQFT_MQTT_PASSWORD: 'pw' }, noWarning),
    );
    expect(args).toMatchObject({
      file: 'f.bin',
      broker: 'mqtt://127.0.0.1:1883',
      clientId: 'dev',
      mqttVersion: 5,
      password: 'pw',
      options: {
        clientId: 'dev',
        layout: 'emqx',
        segmentSize: 16384,
        window: 4,
        bandwidth: 1048576,
      },
    });
    const scoped = parseUploadArgs(
      [
        'f',
        '--client-id',
        'd',
        '--mqtt-version',
        '3',
        '--layout',
        'scoped',
        '--user-data',
        '{"a":1}',
      ],
      noEnv,
    );
    expect(scoped).toMatchObject({
      mqttVersion: 4,
      options: { layout: 'scoped', userData: { a: 1 } },
    });
    expect(parseUploadArgs(['--help'], noEnv)).toBe('help');
  });

  it('refuses what cannot work', () => {
    const bad = [
      ['f'],
      ['--client-id', 'd'],
      ['f', '--client-id', 'd', '--mqtt-version', '3'],
      ['f', '--client-id', 'd', '--layout', 'flat'],
      ['f', '--client-id', 'd', '--checksum', 'abc'],
      ['f', '--client-id', 'd', '--nope'],
    ];
    for (const argv of bad)
      expect(() => parseUploadArgs(argv, noEnv), argv.join(' ')).toThrow(UsageError);
  });
});

describe('formatting', () => {
  it('bytes, durations, tables, progress', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatDuration(75)).toBe('1m15s');
    expect(formatDuration(undefined)).toBe('--');
    expect(formatTable(['A', 'BB'], [['xyz', '1']])).toBe('A    BB\nxyz  1');
    const line = summary({
      bytesConfirmed: 512 * 1024,
      totalBytes: 1024 * 1024,
      bytesPerSecond: 256 * 1024,
      etaSeconds: 2,
      fraction: 0.5,
    });
    expect(line).toBe('50.0%  512.0 KiB / 1.0 MiB  256.0 KiB/s  ETA 2s');
  });
});
