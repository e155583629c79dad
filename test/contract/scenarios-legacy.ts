/**
 * The proof of concept's paths (no prefix, always waiting), as its scripts and bash tunnelctl use
 * them: create, list, files, routes by service, its own "Missing parameter" answer, delete.
 */
import type { Scenario } from './scenario.js';

export const legacyScenarios: Scenario[] = [
  {
    name: 'the proof of concept’s sequence',
    async run(s) {
      await s.call('GET', '/tunnels');
      const made = await s.call('POST', '/tunnels');
      const name: string = made.body.tunnel.name;
      s.alias(name, '<generated>');
      await s.call('GET', '/tunnels');
      await s.call('GET', `/tunnels/${name}/credentials`, { bytes: true });
      await s.call('GET', `/tunnels/${name}/config`, { bytes: true });
      await s.call('POST', `/tunnels/${name}/routes?service=${encodeURIComponent('http://localhost:8000')}`);
      await s.call('POST', `/tunnels/${name}/routes?service=${encodeURIComponent('tcp://10.0.0.5:22')}`);
      await s.call('GET', `/tunnels/${name}/config`, { bytes: true });
      await s.call('GET', `/api/v1/tunnels/${name}/routes`, { shapeOnly: true });
      await s.call(
        'DELETE',
        `/tunnels/${name}/routes?service=${encodeURIComponent('http://localhost:8000')}`,
      );
      await s.call('GET', '/tunnels');
      // Gone already: the original answered "ok" with the tunnel as it is.
      await s.call(
        'DELETE',
        `/tunnels/${name}/routes?service=${encodeURIComponent('http://localhost:8000')}`,
      );
      await s.call('DELETE', `/tunnels/${name}`);
      await s.call('GET', '/tunnels');
      // Gone already: the original answered 200 "error" with its message.
      await s.call('DELETE', `/tunnels/${name}`);
    },
  },
  {
    name: 'the proof of concept’s refusals',
    async run(s) {
      const made = await s.call('POST', '/tunnels');
      const name: string = made.body.tunnel.name;
      s.alias(name, '<generated>');
      await s.call('POST', `/tunnels/${name}/routes`);
      await s.call('POST', `/tunnels/${name}/routes?service=`);
      await s.call('DELETE', `/tunnels/${name}/routes`);
      await s.call('POST', `/tunnels/${name}/routes?service=${encodeURIComponent('ftp://files.local')}`);
      await s.call('GET', '/tunnels/nosuch/credentials');
      await s.call('GET', '/tunnels/nosuch/config');
      await s.call('DELETE', '/tunnels/nosuch');
      await s.call('DELETE', '/tunnels/Not_A_Name');
      await s.call('DELETE', `/tunnels/${name}`, { as: s.other });
      await s.call('DELETE', `/tunnels/${name}/routes?service=${encodeURIComponent('ftp://files.local')}`);
      await s.call('DELETE', `/tunnels/nosuch/routes?service=${encodeURIComponent('http://localhost:1')}`);
      await s.call('GET', `/tunnels/${name}/credentials`, { as: s.other });
      await s.call('DELETE', `/tunnels/${name}`);
    },
  },
];
