/**
 * The conversation commands the API dispatches on the CommandBus, and their handlers: the
 * edge between HTTP and the conversation context. Each command's class carries its answer's
 * type; the decisions stay in the framework-free domain and the per-conversation batching
 * in ConversationService.
 */
import type { CommandContext } from '@herald/commands';
import {
  ConversationService,
  type ConversationCommand,
  type Outcome,
  type ReceiptCommand,
  type SendOutcome,
} from '@herald/conversations';
import type { Checkpoint } from '@herald/event-store';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';

type SendMessage = Extract<ConversationCommand, { type: 'SendMessage' }>;

/** Any conversation command but a send, which answers its message id too. */
export class ExecuteConversationCommand extends Command<Outcome> {
  constructor(
    readonly conversationId: string,
    readonly command: Exclude<ConversationCommand, SendMessage>,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class SendMessageCommand extends Command<SendOutcome> {
  constructor(
    readonly conversationId: string,
    readonly command: SendMessage,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** A read marker, a delivery receipt or a mute: the member's own stream. */
export class RecordReceiptCommand extends Command<{ readonly checkpoint: Checkpoint }> {
  constructor(
    readonly conversationId: string,
    readonly command: ReceiptCommand,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(ExecuteConversationCommand)
export class ExecuteConversationHandler implements ICommandHandler<ExecuteConversationCommand> {
  constructor(private readonly conversations: ConversationService) {}

  execute({ conversationId, command, context }: ExecuteConversationCommand): Promise<Outcome> {
    return this.conversations.execute(conversationId, command, context);
  }
}

@CommandHandler(SendMessageCommand)
export class SendMessageHandler implements ICommandHandler<SendMessageCommand> {
  constructor(private readonly conversations: ConversationService) {}

  execute({ conversationId, command, context }: SendMessageCommand): Promise<SendOutcome> {
    return this.conversations.execute(conversationId, command, context);
  }
}

@CommandHandler(RecordReceiptCommand)
export class RecordReceiptHandler implements ICommandHandler<RecordReceiptCommand> {
  constructor(private readonly conversations: ConversationService) {}

  execute({ conversationId, command, context }: RecordReceiptCommand): Promise<{ checkpoint: Checkpoint }> {
    return this.conversations.recordReceipt(conversationId, command, context);
  }
}

export const CONVERSATION_COMMAND_HANDLERS = [ExecuteConversationHandler, SendMessageHandler, RecordReceiptHandler];
