/**
 * Everything around tunnels: probes and documents, authentication (Basic, bearer tokens and the
 * 401s tunnelctl explains), tokens, /me, events, admin paths, unknown paths and bad bodies.
 */
import type { Scenario } from './scenario.js';

const keys = (v: unknown) => Object.keys(v as object).sort();

export const accountScenarios: Scenario[] = [
  {
    name: 'probes and documents need no credentials',
    async run(s) {
      await s.call('GET', '/', { as: null });
      await s.call('GET', '/healthz', { as: null });
      await s.call('GET', '/readyz', { as: null });
      const metrics = await s.call('GET', '/metrics', { as: null, shapeOnly: true });
      if (!/^# (HELP|TYPE) /m.test(metrics.text)) throw new Error('metrics: not Prometheus text');
      // The document itself is the real server's (the fake's is a stub): its outline only.
      await s.call('GET', '/openapi.json', {
        as: null,
        project: (doc) => ({ keys: keys(doc), openapi: typeof doc.openapi, info: keys(doc.info) }),
      });
    },
  },
  {
    name: 'authentication: none, wrong, malformed, unknown user, a refused token; then /me',
    async run(s) {
      await s.call('GET', '/api/v1/me', { as: null });
      await s.call('GET', '/api/v1/tunnels', { as: null });
      await s.call('GET', '/api/v1/me', { as: `${s.user}:wrong` });
      await s.call('GET', '/api/v1/me', { as: 'nobody-here:whatever' });
      await s.call('GET', '/api/v1/me', { as: 'Bearer tp_nope' });
      await s.call('GET', '/api/v1/me', { as: 'Bearer ' });
      await s.call('POST', '/tunnels', { as: null });
      await s.call('GET', '/api/v1/me');
      await s.call('GET', '/api/v1/me', { as: s.admin });
    },
  },
  {
    name: 'tokens: create, list, use, revoke with itself, refused after',
    async run(s) {
      await s.call('GET', '/api/v1/tokens');
      const made = await s.call('POST', '/api/v1/tokens', { body: { name: 'laptop' } });
      s.alias(made.body.token.id, '<token id>');
      const expiring = await s.call('POST', '/api/v1/tokens', { body: { name: 'ci', expiresInDays: 30 } });
      s.alias(expiring.body.token.id, '<expiring token id>');
      const bearer = `Bearer ${made.body.secret}`;
      await s.call('GET', '/api/v1/me', { as: bearer });
      await s.call('GET', '/api/v1/tokens');
      await s.call('GET', '/api/v1/tokens', { as: s.other });
      await s.call('DELETE', `/api/v1/tokens/${made.body.token.id}`, { as: s.other });
      await s.call('DELETE', `/api/v1/tokens/${made.body.token.id}`, { as: bearer });
      await s.call('GET', '/api/v1/me', { as: bearer });
      await s.call('DELETE', `/api/v1/tokens/${made.body.token.id}`, { as: bearer });
      await s.call('DELETE', `/api/v1/tokens/${made.body.token.id}`);
      await s.call('DELETE', '/api/v1/tokens/tok_nosuch');
      await s.call('GET', '/api/v1/tokens');
    },
  },
  {
    name: 'tokens refused: no name, empty name, bad expiry',
    async run(s) {
      await s.call('POST', '/api/v1/tokens', { body: {} });
      await s.call('POST', '/api/v1/tokens', { body: { name: '' } });
      await s.call('POST', '/api/v1/tokens', { body: { name: 'x', expiresInDays: 0 } });
      await s.call('POST', '/api/v1/tokens', { body: { name: 'x', expiresInDays: 'soon' } });
      await s.call('POST', '/api/v1/tokens');
    },
  },
  {
    name: 'events: what the user did, newest first, refusals included',
    async run(s) {
      // The reconciler's own events (tunnel.ready…) depend on its passes: the user's are compared.
      const mine = (page: { items: Array<Record<string, unknown>> }) => ({
        ...page,
        items: page.items
          .filter((e) => e.actor !== 'reconciler')
          .map(({ id, at, ...e }) => ({ id: typeof id, at: typeof at, ...e })),
      });
      await s.call('GET', '/api/v1/events');
      const t = s.name('audited');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', name: 'app' },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, { body: { service: 'ftp://x' } });
      await s.call('DELETE', `/api/v1/tunnels/${t}/routes/app?wait=30`);
      await s.call('DELETE', `/api/v1/tunnels/${t}?wait=30`);
      const token = await s.call('POST', '/api/v1/tokens', { body: { name: 'ci' } });
      s.alias(token.body.token.id, '<token id>');
      await s.call('DELETE', `/api/v1/tokens/${token.body.token.id}`);
      await s.call('PUT', `/api/v1/admin/users/${s.user}/quotas`, { as: s.admin, body: { tunnels: 4 } });
      await s.call('GET', '/api/v1/events', { project: mine });
      await s.call('GET', '/api/v1/events?limit=0');
    },
  },
  {
    name: 'admin paths: refused to users; users, everyone’s tunnels, quotas',
    async run(s) {
      await s.call('GET', '/api/v1/admin/users');
      await s.call('GET', '/api/v1/admin/tunnels');
      await s.call('PUT', `/api/v1/admin/users/${s.other}/quotas`, { body: { tunnels: 3 } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('mine') } });
      await s.call('GET', '/api/v1/admin/users', { as: s.admin, shapeOnly: true });
      await s.call('GET', `/api/v1/admin/tunnels?owner=${s.user}`, { as: s.admin });
      await s.call('GET', `/api/v1/admin/tunnels?owner=${s.other}`, { as: s.admin });
      await s.call('GET', `/api/v1/tunnels/${s.name('mine')}`, { as: s.admin });
      await s.call('PUT', `/api/v1/admin/users/${s.other}/quotas`, { as: s.admin, body: { tunnels: 3 } });
      await s.call('PUT', `/api/v1/admin/users/${s.other}/quotas`, { as: s.admin, body: { routes: 7 } });
      await s.call('PUT', '/api/v1/admin/users/nobody-here/quotas', { as: s.admin, body: { tunnels: 3 } });
      await s.call('GET', '/api/v1/me', { as: s.other });
    },
  },
  {
    name: 'unknown paths and methods',
    async run(s) {
      await s.call('GET', '/api/v1/nope');
      await s.call('GET', '/api/v1/nope', { as: null });
      await s.call('PATCH', '/api/v1/tunnels');
      await s.call('GET', '/nope');
    },
  },
  {
    name: 'bodies: not JSON, broken JSON, too large',
    async run(s) {
      await s.call('POST', '/api/v1/tunnels?wait=30', { raw: { type: 'text/plain', text: 'name=web' } });
      await s.call('POST', '/api/v1/tunnels?wait=30', {
        raw: { type: 'application/json', text: '{"name":' },
      });
      await s.call('POST', '/api/v1/tokens', {
        raw: { type: 'application/json', text: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) },
      });
    },
  },
];
