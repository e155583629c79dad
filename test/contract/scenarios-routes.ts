/**
 * Routes: add (HTTP, TCP-like with its in-cluster address, normalised services, names), the
 * refusals the CLI shows, list and get (by name and by hostname), delete by name and by service,
 * the bounded wait, and a change to a tunnel being deleted.
 */
import type { Scenario } from './scenario.js';

export const routeScenarios: Scenario[] = [
  {
    name: 'add HTTP and TCP-like routes; services are normalised',
    async run(s) {
      const t = s.name('web');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'HTTP://LocalHost:8000', name: 'app' },
      });
      const generated = await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'https://10.0.0.7:8443/' },
      });
      s.alias(generated.body.name, '<route>');
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'ssh://10.0.0.9:22', name: 'shell' },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'tcp://192.168.1.10:10000', name: 'db' },
      });
      for (const service of ['hello_world', 'http_status:404', 'unix:/run/app.sock'])
        await s
          .call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, { body: { service } })
          .then((a) => s.alias(a.body.name, `<route ${service}>`));
      await s.call('GET', `/api/v1/tunnels/${t}`);
      await s.call('GET', '/api/v1/me');
    },
  },
  {
    name: 'add refused: bad services, bad and taken names, missing service, unknown tunnel',
    async run(s) {
      const t = s.name('web');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', name: 'app' },
      });
      for (const service of [
        'http://localhost:8000/path',
        'ftp://files.local',
        'tcp://10.0.0.5',
        'localhost:8000',
        '',
      ])
        await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, { body: { service } });
      for (const name of ['App', 'my-app', 'x'.repeat(25), 'app'])
        await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
          body: { service: 'http://localhost:2', name },
        });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, { body: { name: 'noservice' } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`);
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://x:1', port: 1 },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:3' },
        as: s.other,
      });
      await s.call('POST', '/api/v1/tunnels/nosuch/routes?wait=30', {
        body: { service: 'http://localhost:3' },
      });
    },
  },
  {
    name: 'protected routes: allow-lists and Access for people; refusals',
    async run(s) {
      const t = s.name('web');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:8080', name: 'ips', allowIps: ['203.0.113.0/24', '198.51.100.7'] },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:8081', name: 'people', access: { emails: ['a@example.org'] } },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: {
          service: 'http://localhost:8082',
          name: 'both',
          allowIps: ['2001:db8::/32'],
          access: { emailDomains: ['example.org'] },
        },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', allowIps: ['nope'] },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', allowIps: ['10.0.0.1/8'] },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'tcp://10.0.0.5:22', access: { emails: ['a@example.org'] } },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', access: { emails: ['not an email'] } },
      });
      await s.call('GET', `/api/v1/tunnels/${t}`);
      await s.call('GET', '/api/v1/me');
    },
  },
  {
    name: 'list and get, by name and by hostname; unknown routes',
    async run(s) {
      const t = s.name('web');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('GET', `/api/v1/tunnels/${t}/routes`);
      const a = await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', name: 'one' },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:2', name: 'two' },
      });
      await s.call('GET', `/api/v1/tunnels/${t}/routes`);
      await s.call('GET', `/api/v1/tunnels/${t}/routes/one`);
      await s.call('GET', `/api/v1/tunnels/${t}/routes/${a.body.hostname}`);
      await s.call('GET', `/api/v1/tunnels/${t}/routes/nosuch`);
      await s.call('GET', `/api/v1/tunnels/${t}/routes`, { as: s.other });
      await s.call('GET', '/api/v1/tunnels/nosuch/routes');
    },
  },
  {
    name: 'delete by name (204 or 202 then gone), by service, and unknown ones',
    async run(s) {
      const t = s.name('web');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      for (const [name, service] of [
        ['one', 'http://localhost:1'],
        ['two', 'http://localhost:2'],
        ['three', 'http://localhost:3'],
        ['four', 'http://localhost:3'],
        ['five', 'tcp://10.0.0.5:22'],
      ] as const)
        await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, { body: { service, name } });
      await s.call('DELETE', `/api/v1/tunnels/${t}/routes/one?wait=30`);
      await s.call('DELETE', `/api/v1/tunnels/${t}/routes/one?wait=30`);
      await s.call('DELETE', `/api/v1/tunnels/${t}/routes/two?wait=0`);
      await s.until(`/api/v1/tunnels/${t}/routes`, (a) =>
        a.body.items.every((r: { name: string }) => r.name !== 'two'),
      );
      await s.call(
        'DELETE',
        `/api/v1/tunnels/${t}/routes?service=${encodeURIComponent('HTTP://localhost:3')}`,
      );
      await s.call(
        'DELETE',
        `/api/v1/tunnels/${t}/routes?service=${encodeURIComponent('tcp://10.0.0.5:22')}&wait=0`,
      );
      await s.until(`/api/v1/tunnels/${t}/routes`, (a) => a.body.items.length === 0);
      await s.call(
        'DELETE',
        `/api/v1/tunnels/${t}/routes?service=${encodeURIComponent('http://localhost:9')}`,
      );
      await s.call('DELETE', `/api/v1/tunnels/${t}/routes`);
      await s.call('DELETE', `/api/v1/tunnels/${t}/routes/one?wait=30`, { as: s.other });
      await s.call('GET', `/api/v1/tunnels/${t}`);
    },
  },
  {
    name: 'a route added wait=0 is pending, then ready',
    async run(s) {
      const t = s.name('web');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=0`, {
        body: { service: 'http://localhost:1', name: 'later' },
      });
      await s.call('GET', `/api/v1/tunnels/${t}`);
      await s.until(`/api/v1/tunnels/${t}/routes/later`, (a) => a.body?.phase === 'ready');
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=0`, {
        body: { service: 'tcp://10.0.0.5:5432', name: 'db' },
      });
      await s.until(`/api/v1/tunnels/${t}/routes/db`, (a) => a.body?.phase === 'ready');
      await s.call('GET', `/api/v1/tunnels/${t}`);
    },
  },
  {
    name: 'a tunnel being deleted takes no route; 202 shows it deleting',
    async run(s) {
      const t = s.name('goner');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:1', name: 'app' },
      });
      await s.call('DELETE', `/api/v1/tunnels/${t}?wait=0`);
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:2' },
      });
      await s.until(`/api/v1/tunnels/${t}`, (a) => a.status === 404);
    },
  },
  {
    name: 'a route with ttlSeconds shows expiresAt, bad TTLs are refused, and it expires by itself',
    async run(s) {
      const t = s.name('share');
      await s.call('POST', '/api/v1/tunnels?wait=30', { body: { name: t, configMode: 'remote' } });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:8000', name: 'brief', ttlSeconds: 3600 },
      });
      await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
        body: { service: 'http://localhost:8001', name: 'lasting' },
      });
      for (const ttlSeconds of [59, 2592001, 1.5, 'soon', null])
        await s.call('POST', `/api/v1/tunnels/${t}/routes?wait=30`, {
          body: { service: 'http://localhost:8002', ttlSeconds },
        });
      await s.call('GET', `/api/v1/tunnels/${t}/routes/brief`);
      await s.target.expireNow(t, 'brief');
      await s.until(`/api/v1/tunnels/${t}/routes/brief`, (a) => a.status === 404);
      await s.call('GET', `/api/v1/tunnels/${t}`);
      // Only the expiry's own event: the reconciler's others depend on its passes.
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
