import type { Writable } from 'node:stream';
import pino, { Logger } from 'pino';
import pretty from 'pino-pretty';
import { Config, LogFormat } from '../config';

/** Values that must never reach a log, whatever a caller passes in. */
const REDACT = {
  paths: [
    '*.password',
    '*.currentPassword',
    '*.newPassword',
    '*.token',
    '*.refreshToken',
    '*.accessToken',
    'req.headers.authorization',
    'req.headers.cookie',
  ],
  censor: '[redacted]',
};

/**
 * Readable lines for a person at a terminal in development; JSON lines everywhere else (a
 * pipe, a file, a log collector, and production even on a terminal). LOG_FORMAT decides when set.
 */
export const logFormatFor = (configured: LogFormat | null, env: Config['env'], isTTY: boolean): LogFormat =>
  configured ?? (isTTY && env !== 'production' ? 'pretty' : 'json');

/**
 * The process's logger, writing synchronously (a line is out before the process exits) to a file
 * descriptor (1: stdout, 2: stderr) or a stream. `colorize` only where a terminal shows it.
 */
export function createLogger(opts: { level: string; format: LogFormat; destination: number | Writable; colorize?: boolean }): Logger {
  const options = { level: opts.level, redact: REDACT };
  if (opts.format === 'pretty') {
    return pino(
      options,
      pretty({
        destination: opts.destination,
        sync: true,
        colorize: opts.colorize ?? false,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino(options, typeof opts.destination === 'number' ? pino.destination({ dest: opts.destination, sync: true }) : opts.destination);
}
