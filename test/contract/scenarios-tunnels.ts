/**
 * Tunnels: create (named, generated, refused), the bounded wait (201 / 202, then polled), list
 * and its pages, get, delete, quotas, a failed provisioning, and the files cloudflared needs.
 */
import type { Scenario } from './scenario.js';

const isReady = (a: { body: any }) => a.body?.phase === 'ready';
const isGone = (a: { status: number }) => a.status === 404;

export const tunnelScenarios: Scenario[] = [
  {
    name: 'create a named tunnel, then a generated one, in both modes',
    async run(s) {
      await s.call('POST', '/api/v1/tunnels?wait=30', {
        body: { name: s.name('web'), configMode: 'remote' },
      });
      const generated = await s.call('POST', '/api/v1/tunnels?wait=30', { body: {} });
      s.alias(generated.body.name, '<generated>');
      // No body at all is refused (the schema wants an object), as tunnelctl never sends.
      await s.call('POST', '/api/v1/tunnels?wait=30');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { configMode: 'local' } });
    },
  },
  {
    name: 'create refused: bad name, taken name, bad mode, bad wait, unknown field',
    async run(s) {
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: 'Bad_Name' } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: 'x'.repeat(25) } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: 'a--b' } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: 7 } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('taken') }, as: s.other });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('taken') } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { configMode: 'hybrid' } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { colour: 'blue' } });
      for (const wait of ['121', 'soon', '-1', ''])
        await s.call('POST', `/api/v1/tunnels?wait=${wait}`, { body: { name: s.name('never') } });
      await s.call('POST', '/api/v1/tunnels?wait=30&colour=blue', { body: { name: s.name('never') } });
    },
  },
  {
    name: 'wait=0 answers 202 pending; polling sees it ready',
    async run(s) {
      const name = s.name('slow');
      await s.call('POST', '/api/v1/tunnels?wait=0', { body: { name } });
      await s.until(`/api/v1/tunnels/${name}`, isReady);
      await s.call('DELETE', `/api/v1/tunnels/${name}?wait=0`);
      await s.until(`/api/v1/tunnels/${name}`, isGone);
    },
  },
  {
    name: 'list, pages, get; other users’ tunnels do not exist',
    async run(s) {
      await s.call('GET', '/api/v1/tunnels');
      for (const base of ['alpha', 'beta', 'gamma'])
        await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name(base) } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('theirs') }, as: s.other });
      await s.call('GET', '/api/v1/tunnels');
      const first = await s.call('GET', '/api/v1/tunnels?limit=2');
      s.alias(first.body.nextCursor, '<cursor>');
      await s.call('GET', `/api/v1/tunnels?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      await s.call('GET', '/api/v1/tunnels?limit=0');
      await s.call('GET', '/api/v1/tunnels?limit=501');
      await s.call('GET', `/api/v1/tunnels/${s.name('alpha')}`);
      await s.call('GET', `/api/v1/tunnels/${s.name('theirs')}`);
      await s.call('GET', '/api/v1/tunnels/nosuch');
      await s.call('GET', '/api/v1/tunnels/Bad_Name');
    },
  },
  {
    name: 'delete: 204 after the wait, 404 after, and not someone else’s',
    async run(s) {
      const name = s.name('doomed');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name } });
      await s.call('DELETE', `/api/v1/tunnels/${name}?wait=30`, { as: s.other });
      await s.call('DELETE', `/api/v1/tunnels/${name}?wait=30`);
      await s.call('GET', `/api/v1/tunnels/${name}`);
      await s.call('DELETE', `/api/v1/tunnels/${name}?wait=30`);
      await s.call('DELETE', '/api/v1/tunnels/nosuch?wait=30');
    },
  },
  {
    name: 'quota: an admin lowers it, the next create is refused, then it is put back',
    async run(s) {
      await s.call('PUT', `/api/v1/admin/users/${s.user}/quotas`, { as: s.admin, body: { tunnels: 1 } });
      await s.call('GET', '/api/v1/me');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('one') } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('two') } });
      await s.call('PUT', `/api/v1/admin/users/${s.user}/quotas`, { as: s.admin, body: { tunnels: null } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: s.name('two') } });
      await s.call('GET', '/api/v1/me');
    },
  },
  {
    name: 'provisioning fails: the tunnel shows the error and has no files',
    async run(s) {
      await s.target.failNextTunnel('account suspended');
      const name = s.name('failing');
      // A failed tunnel never converges: the request waits all it may, then answers 202.
      await s.call('POST', '/api/v1/tunnels?wait=1', { body: { name } });
      await s.call('GET', `/api/v1/tunnels/${name}`);
      await s.call('GET', `/api/v1/tunnels/${name}/credentials`);
      await s.call('GET', `/api/v1/tunnels/${name}/config`);
      await s.call('GET', `/api/v1/tunnels/${name}/token`);
      await s.call('DELETE', `/api/v1/tunnels/${name}?wait=30`);
    },
  },
  {
    name: 'credentials, config and run token, byte for byte, local and remote',
    async run(s) {
      const local = s.name('local');
      const remote = s.name('remote');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: local } });
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: remote, configMode: 'remote' } });
      await s.call('GET', `/api/v1/tunnels/${local}/credentials`, { bytes: true });
      await s.call('GET', `/api/v1/tunnels/${local}/config`, { bytes: true });
      await s.call('POST', `/api/v1/tunnels/${local}/routes?wait=30`, {
        body: { service: 'http://localhost:8000', name: 'web' },
      });
      await s.call('POST', `/api/v1/tunnels/${local}/routes?wait=30`, {
        body: { service: 'tcp://10.0.0.5:5432', name: 'db' },
      });
      await s.call('GET', `/api/v1/tunnels/${local}/config`, { bytes: true });
      await s.call('GET', `/api/v1/tunnels/${local}/token`);
      await s.call('GET', `/api/v1/tunnels/${remote}/token`);
      await s.call('GET', `/api/v1/tunnels/${remote}/credentials`, { bytes: true });
      await s.call('GET', `/api/v1/tunnels/${remote}/config`, { bytes: true });
      await s.call('GET', `/api/v1/tunnels/${local}/credentials`, { as: s.other });
      await s.call('GET', `/api/v1/tunnels/${local}/config`, { as: s.other });
      await s.call('GET', `/api/v1/tunnels/${local}/token`, { as: s.other });
    },
  },
  {
    name: 'a tunnel with ttlSeconds shows expiresAt, bad TTLs are refused, and it expires with its routes',
    async run(s) {
      const t = s.name('brief');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t, ttlSeconds: 600 } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:8000', name: 'app' },
      });
      for (const ttlSeconds of [59, 2592001, 1.5])
        await s.call('POST', '/api/v1/tunnels?wait=0', { body: { name: s.name('never'), ttlSeconds } });
      await s.call('GET', `/api/v1/tunnels/${t}`);
      await s.target.expireNow(t);
      await s.until(`/api/v1/tunnels/${t}`, isGone);
      await s.call('GET', '/api/v1/events?limit=50', {
        project: (b: { items: Array<Record<string, unknown>> }) =>
          b.items
            .filter((e) => String(e.action).endsWith('.expired'))
            .map(({ actor, action, target, outcome, details }) => ({
              actor,
              action,
              target,
              outcome,
              details,
            })),
      });
    },
  },
];
