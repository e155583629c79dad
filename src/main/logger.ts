/** The process's logger: pino on stderr, with credentials redacted wherever they appear. */
import { pino, type DestinationStream, type Logger } from 'pino';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tunnelplane' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.password',
          '*.apiToken',
          '*.secret',
          '*.token',
          '*.TunnelSecret',
          'password',
          'apiToken',
          'secret',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    (destination ?? process.stderr) as DestinationStream,
  );
}
