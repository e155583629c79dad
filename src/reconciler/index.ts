export { createReconciler, defaultReconcilerOptions, backoffMs, configHash } from './reconciler.js';
export type { Reconciler, ReconcilerOptions, ReconcilerDeps, ReconcilerHooks, ReconcilerLogger } from './reconciler.js';
