export * from './domain/errors.js';
export * from './domain/user.js';
export * from './domain/username.js';
export * from './domain/session.js';
export * from './identity.service.js';
export { AccessTokens, type AccessClaims } from './tokens.js';
export { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './passwords.js';
export * from './domain/contact.js';
export * from './system-roles.js';
