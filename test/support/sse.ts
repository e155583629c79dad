/** A server-sent events subscriber for tests: opens `GET /api/v1/events/stream`, collects what it sends. */
export interface Sse {
  id: number;
  event: string;
  data: { id: number; action: string; target: string; actor: string };
}

/** Opens a stream as `auth` (an Authorization header); collects its events until `close()`. */
export async function subscribe(url: string, auth: string, lastEventId?: number) {
  const ctrl = new AbortController();
  const res = await fetch(`${url}/api/v1/events/stream`, {
    headers: {
      authorization: auth,
      ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}),
    },
    signal: ctrl.signal,
  });
  const got: Sse[] = [];
  if (res.status === 200) {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const field = (name: string) =>
              block
                .split('\n')
                .find((l) => l.startsWith(`${name}: `))
                ?.slice(name.length + 2);
            const data = field('data');
            if (data) got.push({ id: Number(field('id')), event: field('event')!, data: JSON.parse(data) });
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return { status: res.status, got, close: () => ctrl.abort(), contentType: res.headers.get('content-type') };
}
