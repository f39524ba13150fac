export * from './domain/conversation.js';
export * from './domain/decide.js';
export * from './domain/receipts.js';
export * from './domain/errors.js';
export * from './conversation.service.js';
