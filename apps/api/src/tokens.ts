/** Injection tokens for things that are interfaces, not classes. */
export const CONFIG = Symbol('HeraldConfig');
export const EVENT_STORE = Symbol('EventStore');
export const PROJECTIONS = Symbol('Projections');
