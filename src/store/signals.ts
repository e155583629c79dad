/**
 * The store's signal to in-process listeners: `desired` when a tunnel's desired state moved (the
 * reconciler wakes), `observed` when the reconciler recorded what it saw (waiting requests
 * look again). Only the store emits; other replicas' writes are found by polling.
 */
import { EventEmitter } from 'node:events';

export type SignalKind = 'desired' | 'observed';

export interface StoreSignals {
  on(kind: SignalKind, listener: (tunnelId: string) => void): void;
  off(kind: SignalKind, listener: (tunnelId: string) => void): void;
}

export interface SignalEmitter extends StoreSignals {
  desiredChanged(tunnelId: string): void;
  observedChanged(tunnelId: string): void;
}

export function createSignals(): SignalEmitter {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    on: (kind, listener) => void emitter.on(kind, listener),
    off: (kind, listener) => void emitter.off(kind, listener),
    desiredChanged: (tunnelId) => void emitter.emit('desired', tunnelId),
    observedChanged: (tunnelId) => void emitter.emit('observed', tunnelId),
  };
}
