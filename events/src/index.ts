export * from './define.js';
export * from './catalogue.js';
export * from './streams.js';
export * from './wire.js';
export { generatedFiles, eventJsonSchema, personalFields, asyncApiDocument } from './contract.js';
export { UserRegistered } from './identity/user-registered.js';
export { ProfileUpdated } from './identity/profile-updated.js';
export { DirectConversationStarted } from './conversations/direct-conversation-started.js';
export { GroupCreated } from './conversations/group-created.js';
export { GroupRenamed } from './conversations/group-renamed.js';
export { GroupDetailsChanged } from './conversations/group-details-changed.js';
export { MemberInvited } from './conversations/member-invited.js';
export { InvitationWithdrawn } from './conversations/invitation-withdrawn.js';
export { MemberJoined } from './conversations/member-joined.js';
export { MemberLeft } from './conversations/member-left.js';
export { MemberKicked } from './conversations/member-kicked.js';
export { MemberRoleChanged } from './conversations/member-role-changed.js';
export { MemberSilenced, MemberUnsilenced } from './conversations/member-silenced.js';
export { MemberBanned, MemberUnbanned } from './conversations/member-banned.js';
export { GroupAnnouncementOnlyChanged } from './conversations/group-announcement-only-changed.js';
export { ConversationMuteChanged } from './receipts/conversation-mute-changed.js';
export { GroupDissolved } from './conversations/group-dissolved.js';
export { MessageSent, Mentions, Attachment } from './messaging/message-sent.js';
export { MessageEdited } from './messaging/message-edited.js';
export { MessageDeleted } from './messaging/message-deleted.js';
export { ReactionAdded, Emoji } from './messaging/reaction-added.js';
export { ReactionRemoved } from './messaging/reaction-removed.js';
export { MessagePinned, MessageUnpinned } from './messaging/message-pinned.js';
export {
  UsernameClaimed,
  PasswordSet,
  SignInAttempted,
  SessionStarted,
  SessionRefreshed,
  SessionRevoked,
  CREDENTIAL_FIELDS,
  REDACTED,
} from './internal/identity.js';
export { SYSTEM_ROLES, type SystemRole, SystemRoleGranted, SystemRoleRevoked, AuditRead } from './internal/audit.js';
export { ConversationRead } from './receipts/conversation-read.js';
export { MessagesDelivered } from './receipts/messages-delivered.js';
export { UserBlocked, UserUnblocked } from './identity/user-blocked.js';
export {
  ContactRequested,
  ContactRequestAccepted,
  ContactRequestDeclined,
  ContactRemoved,
} from './contacts/contact-events.js';
export { InvitationLinkCreated, InvitationLinkRevoked } from './conversations/invitation-links.js';
