/**
 * Structured JSON logs, one object per line, for Nest and for Herald's own code. A line
 * about a request carries its `correlationId` in `fields` (the exception filter's do).
 * Callers pass messages, never tokens, passwords or message bodies.
 */
import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '@herald/config';

const RANK: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel,
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  log(message: unknown, context?: string): void {
    this.emit('info', message, context);
  }
  error(message: unknown, stackOrContext?: string, context?: string): void {
    // Nest passes (message, stack, context) or (message, context).
    const stack = context ? stackOrContext : undefined;
    this.emit('error', message, context ?? stackOrContext, stack);
  }
  warn(message: unknown, context?: string): void {
    this.emit('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.emit('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.emit('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.emit('fatal', message, context);
  }

  emit(level: LogLevel, message: unknown, context?: string, stack?: string, fields?: Record<string, unknown>): void {
    if (RANK[level] > RANK[this.level]) return;
    const msg =
      message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      ...(context ? { context } : {}),
      msg,
      ...fields,
    };
    if (stack) entry.stack = stack;
    else if (message instanceof Error && message.stack) entry.stack = message.stack;
    this.write(JSON.stringify(entry));
  }
}
