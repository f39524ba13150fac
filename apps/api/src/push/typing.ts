/**
 * Typing signals: ephemeral, never events. A client's `typing` frame is relayed at most once
 * per TYPING_INTERVAL_MS per socket and conversation, only while the conversation's stream
 * says its sender is a member who may send now (not silenced, not a plain member of an
 * announcement-only group, not in a dissolved group) and not to a direct peer who blocked
 * them; it reaches the
 * conversation's subscribers on this node at once and the other nodes over the signal bus.
 */
import { TYPING_INTERVAL_MS } from './limits.js';
import type { PushClient, PushClients } from './push-client.js';
import type { Signal } from './signals.js';

export interface TypingOptions {
  readonly clients: PushClients;
  /**
   * Whether the conversation's stream (not what this node has followed so far) says the user
   * is a member who may send now: typing what one may not send is not relayed.
   */
  readonly maySend: (conversationId: string, userId: string) => Promise<boolean>;
  readonly hasBlocked: (blockerId: string, blockedId: string) => Promise<boolean>;
  /** Answers a frame about a conversation the socket is not subscribed to. */
  readonly notFound: (client: PushClient, conversationId: string) => void;
  /** To the other nodes, over the signal bus. */
  readonly publish: (signal: Signal) => void;
  readonly now?: () => number;
}

export class Typing {
  constructor(private readonly options: TypingOptions) {}

  /** A client's typing frame. */
  async typed(client: PushClient, conversationId: string): Promise<void> {
    const subscription = client.subscriptions.get(conversationId);
    if (!subscription) return this.options.notFound(client, conversationId);
    const now = (this.options.now ?? Date.now)();
    if (now - subscription.typingAt < TYPING_INTERVAL_MS) return;
    subscription.typingAt = now;
    const userId = client.caller.userId;
    // Paid as every frame is (one token: a relayed signal costs reads and a NOTIFY).
    // The stream, not what this node has followed so far, says whether they are still a
    // member: a kick not delivered yet silences them already (the kick's event ends the
    // subscription when it arrives). At most one read a second per socket and conversation.
    const maySend = await this.options.maySend(conversationId, userId);
    if (!maySend || client.subscriptions.get(conversationId) !== subscription) return;
    // As a message to them would be refused: silently, as for anyone else.
    if (subscription.peer !== undefined && (await this.options.hasBlocked(subscription.peer, userId))) return;
    this.relay(conversationId, userId);
    this.options.publish({ kind: 'typing', conversationId, userId });
  }

  /** Tells the conversation's subscribers on this node that `userId` is typing (not the typist's own sockets). */
  relay(conversationId: string, userId: string): void {
    for (const other of this.options.clients.inConversation(conversationId)) {
      if (other.caller.userId !== userId) other.send({ type: 'typing', conversationId, userId });
    }
  }
}
