/**
 * The contract between the fake server the CLI tests run on (test/cli/fake-server.ts) and the
 * real one: each scenario — every endpoint the fake implements, with the refusals tunnelctl
 * explains — runs on both, and what a client sees (status, media type, the headers it acts on,
 * the body with ids, secrets and times as placeholders) must be the same. A change to the API
 * that the fake does not follow fails here, instead of passing unnoticed in the CLI tests.
 *
 * One real server and one fake for the whole file; scenarios run one at a time (the real
 * reconciler gathers concurrent changes, which would make its timing differ from run to run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { play, type Scenario } from './scenario.js';
import { accountScenarios } from './scenarios-account.js';
import { legacyScenarios } from './scenarios-legacy.js';
import { routeScenarios } from './scenarios-routes.js';
import { tunnelScenarios } from './scenarios-tunnels.js';
import { startFakeTarget, startRealTarget, type Target } from './targets.js';

const groups: Array<[name: string, scenarios: Scenario[]]> = [
  ['account', accountScenarios],
  ['tunnels', tunnelScenarios],
  ['routes', routeScenarios],
  ['proof of concept', legacyScenarios],
];

let real: Target;
let fake: Target;

beforeAll(async () => {
  [real, fake] = await Promise.all([startRealTarget(), startFakeTarget()]);
});
afterAll(async () => {
  await Promise.all([real?.close(), fake?.close()]);
});

let n = 0;
for (const [group, scenarios] of groups) {
  describe(group, () => {
    for (const scenario of scenarios) {
      // Its number makes the scenario's users and tunnel names its own on both servers.
      const id = ++n;
      it(scenario.name, async () => {
        const [onReal, onFake] = await Promise.all([play(real, scenario, id), play(fake, scenario, id)]);
        expect(onFake).toEqual(onReal);
      });
    }
  });
}
