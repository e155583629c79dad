export { createStore, connectStore } from './store.js';
export type { Store, UserRow, TokenRow, TunnelRow, TunnelView, RouteRow, RouteView, EventRow, Quotas, Page, NewEvent } from './store.js';
export { openDatabase } from './database.js';
