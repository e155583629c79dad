export { createReconciler } from './reconciler.js';
export type { Reconciler, ReconcilerDeps, ReconcilerHooks } from './reconciler.js';
export type { ReconcilerLogger, TcpAccessSettings } from './context.js';
export { defaultReconcilerOptions, backoffMs, type ReconcilerOptions } from './options.js';
export { configHash } from './steps/config.js';
export type { ResyncResult } from './resync.js';
export type { Orphan, OrphanPlan } from './orphans.js';
export { describeOrphans } from './orphans.js';
export type { Work } from './work.js';
