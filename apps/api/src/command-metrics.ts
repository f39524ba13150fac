/**
 * `herald_commands_total{type,outcome}`: every command the CommandBus runs, counted when it
 * ends. The type is the domain's (`SendMessage`, `LeaveConversation`, ...) for the
 * conversation commands, whose classes carry one; for the others, the class's name without
 * `Command` (`Register`, `Block`, ...). The outcome is what the answer's status says:
 * `accepted`, `refused` (4xx), `unavailable` (503) or `failed` (any other 5xx).
 *
 * The bus is wrapped once, at start: per command the cost is a Map lookup by a constant
 * string and a slot's `+= 1` (no label set is hashed).
 */
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { CommandBus, type ICommand } from '@nestjs/cqrs';
import { toErrorResponse } from '@herald/nest';
import { HeraldMetrics, type CommandOutcome, type CounterSlot } from '@herald/observability';

/** The name of a command class without its `Command` suffix, per class: made once. */
const classNames = new WeakMap<object, string>();

export function commandType(command: ICommand): string {
  const inner = (command as { command?: { type?: unknown } }).command?.type;
  if (typeof inner === 'string') return inner;
  const constructor = Object.getPrototypeOf(command) as { constructor: { name: string } } | null;
  const type = constructor?.constructor;
  if (!type) return 'Unknown';
  let name = classNames.get(type);
  if (name === undefined) {
    name = type.name.replace(/Command$/, '') || 'Unknown';
    classNames.set(type, name);
  }
  return name;
}

export function outcomeOf(error: unknown): CommandOutcome {
  const { status } = toErrorResponse(error);
  return status < 500 ? 'refused' : status === 503 ? 'unavailable' : 'failed';
}

@Injectable()
export class CommandMetrics implements OnModuleInit {
  constructor(
    private readonly bus: CommandBus,
    private readonly metrics: HeraldMetrics,
  ) {}

  onModuleInit(): void {
    const bus = this.bus;
    const execute = bus.execute.bind(bus) as (command: ICommand, context?: unknown) => Promise<unknown>;
    const metrics = this.metrics;
    const slot = (command: ICommand, outcome: CommandOutcome): CounterSlot =>
      metrics.command(commandType(command), outcome);
    (bus as { execute: (command: ICommand, context?: unknown) => Promise<unknown> }).execute = async (
      command,
      context,
    ) => {
      let result: unknown;
      try {
        result = await execute(command, context);
      } catch (error) {
        slot(command, outcomeOf(error)).inc();
        throw error;
      }
      slot(command, 'accepted').inc();
      return result;
    };
  }
}
