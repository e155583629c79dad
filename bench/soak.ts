/**
 * The chaos soak: test/chaos.e2e.test.ts for longer and with more kills. Rounds of creates then
 * deletes by five users, with about 5 % of the reconciler's Cloudflare calls failing and
 * `tunnelplane serve` SIGKILLed five times per phase (after 1-8 Cloudflare writes, or 1-4 s),
 * until the time is spent; every other round the deletes meet half-made objects. Then faults
 * off: the emulator must equal the desired state within 120 s. Prints its figures (kills,
 * faults injected, acknowledged creates and deletes, time to converge, differences found) and
 * exits 1 when anything differs.
 *
 *   npx tsx bench/soak.ts [--minutes N] [--postgres URL] [--seed N] [--fault-rate F] [--keep] [--drift]
 *
 * `--drift`: hand edits in Cloudflare as faults go off (a live record deleted, a remote
 * configuration and our firewall rule edited, orphans with our markers added), which only resync
 * repairs within the bound. `--keep`: keep the run's folder (server logs, emulator state).
 * `--postgres URL`: a role that may CREATE DATABASE (e.g. TUNNELPLANE_TEST_POSTGRES_E2E_URL); the
 * soak runs two replicas on a scratch database it drops at the end. SQLite and one server otherwise.
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runChaos, summarize, type ChaosReport } from '../test/support/chaos.js';
import { note } from './report.js';

export interface SoakOptions {
  minutes: number;
  postgres?: string;
  seed?: number;
  faultRate?: number;
  keep?: boolean;
  /** Hand edits in Cloudflare as faults go off, which only resync repairs (ChaosPlan.handDrift). */
  drift?: boolean;
}

export interface SoakResult {
  seed: number;
  database: 'sqlite' | 'postgres';
  replicas: number;
  minutes: number;
  rounds: number;
  kills: number;
  faultsInjected: number;
  faultsByAction: Record<string, number>;
  cloudflareCalls: number;
  cloudflareWrites: number;
  acknowledgedCreates: number;
  acknowledgedDeletes: number;
  unansweredRequests: number;
  /** Seconds from faults off to no difference; null when the bound passed first. */
  convergedSeconds: number | null;
  convergeBoundSeconds: number;
  differencesFound: number;
  differences: string[];
  /** Reasons the run proves nothing (no fault or kill of some kind, a kind of object never made or removed). */
  vacuous: string[];
}

const CONVERGE_BOUND_MS = 120_000;

export async function soakBenchmark(o: SoakOptions): Promise<SoakResult> {
  const seed = o.seed ?? randomInt(1, 2 ** 31);
  note(
    `\nchaos soak: ${o.minutes} min on ${o.postgres ? 'PostgreSQL, two replicas' : 'SQLite, one server'}, seed ${seed}…`,
  );
  const report: ChaosReport = await runChaos(
    {
      seed,
      ...(o.postgres ? { postgres: o.postgres } : {}),
      replicas: o.postgres ? 2 : 1,
      users: 5,
      defaultConfigMode: 'remote',
      faultRate: o.faultRate ?? 0.05,
      killAfterWrites: [1, 8],
      killAfterMs: [1000, 4000],
      downMs: [0, 1500],
      log: note,
      keepDir: o.keep ?? false,
    },
    {
      rounds: 1,
      minRunMs: o.minutes * 60_000,
      create: { tunnelsPerUser: 2, routesPerTunnel: 5 },
      delete: {
        tunnelFraction: 0.3,
        routeFraction: 0.3,
        minPerMode: 1,
        minPerKind: 1,
        newRoutesPerUser: 3,
        churnRoutesPerUser: 2,
        churnTunnelsPerUser: 1,
      },
      settleCreatesEvery: 2,
      killsPerPhase: 5,
      phaseMaxMs: 90_000,
      convergeBoundMs: CONVERGE_BOUND_MS,
      stableMs: 6_000,
      handDrift: o.drift ?? false,
    },
  );
  note(summarize(report));
  const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  const calls = Object.entries(report.cloudflare.byRoute)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `    ${String(v).padStart(6)}  ${k}`);
  note(`  Cloudflare calls by route:\n${calls.join('\n')}`);
  return {
    seed,
    database: report.database,
    replicas: report.replicas,
    minutes: o.minutes,
    rounds: report.phases.filter((p) => p.name.startsWith('create-')).length,
    kills: report.kills.length,
    faultsInjected: report.faults.injected,
    faultsByAction: report.faults.byAction,
    cloudflareCalls: report.cloudflare.calls,
    cloudflareWrites: report.cloudflare.writes,
    acknowledgedCreates: sum(report.acknowledged.created),
    acknowledgedDeletes: sum(report.acknowledged.deleted),
    unansweredRequests: report.unknowns.length,
    convergedSeconds: report.convergedMs === null ? null : Math.round(report.convergedMs / 100) / 10,
    convergeBoundSeconds: CONVERGE_BOUND_MS / 1000,
    differencesFound: report.differences.length,
    differences: report.differences,
    vacuous: report.vacuous,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      postgres: { type: 'string' },
      seed: { type: 'string' },
      'fault-rate': { type: 'string' },
      keep: { type: 'boolean', default: false },
      drift: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    note(
      'Usage: npx tsx bench/soak.ts [--minutes N] [--postgres URL] [--seed N] [--fault-rate F] [--keep] [--drift]',
    );
    return;
  }
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error(`--minutes must be a positive number, got ${values.minutes}`);
  const faultRate = values['fault-rate'] === undefined ? undefined : Number(values['fault-rate']);
  if (faultRate !== undefined && !(faultRate >= 0 && faultRate <= 0.5))
    throw new Error('--fault-rate must be between 0 and 0.5');
  const result = await soakBenchmark({
    minutes,
    ...(values.postgres ? { postgres: values.postgres } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    ...(faultRate !== undefined ? { faultRate } : {}),
    keep: values.keep,
    drift: values.drift,
  });
  note(JSON.stringify(result, null, 2));
  if (result.differencesFound > 0 || result.vacuous.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
