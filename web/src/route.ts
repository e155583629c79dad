/** Pages live in the URL's fragment (`#/tunnels/web`), so the server serves one page and no API path is shadowed. */
import { useEffect, useState } from 'preact/hooks';

export type Page =
  | { name: 'tunnels' }
  | { name: 'tunnel'; tunnel: string }
  | { name: 'tokens' }
  | { name: 'events' }
  | { name: 'admin' };

export function parse(hash: string): Page {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'tunnels' && parts[1]) return { name: 'tunnel', tunnel: parts[1] };
  if (parts[0] === 'tokens') return { name: 'tokens' };
  if (parts[0] === 'events') return { name: 'events' };
  if (parts[0] === 'admin') return { name: 'admin' };
  return { name: 'tunnels' };
}

export const href = {
  tunnels: '#/',
  tunnel: (name: string) => `#/tunnels/${encodeURIComponent(name)}`,
  tokens: '#/tokens',
  events: '#/events',
  admin: '#/admin',
};

export function usePage(): Page {
  const [page, setPage] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const on = () => setPage(parse(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return page;
}

export function go(to: string) {
  window.location.hash = to;
}
