/**
 * Watch streams (`?watch=true`): newline-delimited `{"type","object"}` events over a chunked
 * response. From resourceVersion "" or "0" the stream starts with ADDED for every matching
 * object; from a given resourceVersion it replays the store's history (410 Expired when it is
 * too old). An object that stops (starts) matching the selectors is sent as DELETED (ADDED).
 */
import type { ServerResponse } from 'node:http';
import type { WatchRequest } from './api.js';
import { matchesObject } from './api.js';
import type { JsonObject } from './json.js';
import { gone } from './status.js';
import { renderTable } from './table.js';
import type { ObjectStore, StoreEvent, WatchEventType } from './store.js';

const MAX_TIMEOUT_SECONDS = 1800;

export interface WatchHandle {
  close(): void;
}

export function serveWatch(
  res: ServerResponse,
  store: ObjectStore,
  w: WatchRequest,
  onEnd: () => void,
): WatchHandle {
  const rt = w.resource;
  const matches = (obj: JsonObject | undefined): boolean =>
    obj !== undefined && matchesObject(rt, obj, w.labels, w.fields);
  const inScope = (e: StoreEvent): boolean =>
    e.resource === rt.plural && (w.namespace === undefined || e.namespace === w.namespace);

  let ended = false;
  let unsubscribe = (): void => undefined;
  const timeout: { timer?: NodeJS.Timeout } = {};
  const end = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    if (timeout.timer) clearTimeout(timeout.timer);
    if (!res.writableEnded) res.end();
    onEnd();
  };

  const send = (type: WatchEventType | 'ERROR', object: unknown): void => {
    if (ended) return;
    let payload = object;
    if (w.table && type !== 'ERROR') {
      const obj = object as JsonObject;
      const rv = (obj['metadata'] as JsonObject | undefined)?.['resourceVersion'] ?? '';
      payload = renderTable(rt, [obj], { resourceVersion: rv }, w.table.version, w.table.includeObject);
    }
    res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };

  const translate = (e: StoreEvent): void => {
    if (!inScope(e)) return;
    const now = matches(e.object);
    const before = matches(e.previous);
    if (e.type === 'ADDED' && now) send('ADDED', e.object);
    else if (e.type === 'DELETED' && (before || now)) send('DELETED', e.object);
    else if (e.type === 'MODIFIED') {
      if (now && before) send('MODIFIED', e.object);
      else if (now) send('ADDED', e.object);
      else if (before) send('DELETED', e.object);
    }
  };

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();

  const from = w.resourceVersion;
  if (from === '' || from === '0') {
    for (const obj of store.list(rt.plural, w.namespace)) if (matches(obj)) send('ADDED', obj);
  } else {
    const since = store.eventsSince(Number(from));
    if (!/^\d+$/.test(from) || since === undefined) {
      send('ERROR', gone(`too old resource version: ${from} (${store.currentVersion()})`).status);
      end();
      return { close: end };
    }
    for (const e of since) translate(e);
  }
  unsubscribe = store.subscribe(translate);
  const seconds = Math.min(
    w.timeoutSeconds && w.timeoutSeconds > 0 ? w.timeoutSeconds : MAX_TIMEOUT_SECONDS,
    MAX_TIMEOUT_SECONDS,
  );
  timeout.timer = setTimeout(end, seconds * 1000);
  timeout.timer.unref();
  res.on('close', end);
  return { close: end };
}
