/**
 * The store's signal to in-process listeners: `desired` when a tunnel's desired state moved (the
 * reconciler wakes), `observed` when the reconciler recorded what it saw (waiting requests
 * look again). Only the store emits; other replicas' writes are found by polling.
 */
import { EventEmitter } from 'node:events';

export type SignalKind = 'desired' | 'observed';

/** The tunnel, and (where the write knew it) its owner: whose burst a change is (gathering.ts). */
export type SignalListener = (tunnelId: string, ownerId?: string) => void;

export interface StoreSignals {
  on(kind: SignalKind, listener: SignalListener): void;
  off(kind: SignalKind, listener: SignalListener): void;
}

export interface SignalEmitter extends StoreSignals {
  desiredChanged(tunnelId: string, ownerId?: string): void;
  observedChanged(tunnelId: string): void;
}

export function createSignals(): SignalEmitter {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    on: (kind, listener) => void emitter.on(kind, listener),
    off: (kind, listener) => void emitter.off(kind, listener),
    desiredChanged: (tunnelId, ownerId) => void emitter.emit('desired', tunnelId, ownerId),
    observedChanged: (tunnelId) => void emitter.emit('observed', tunnelId),
  };
}
