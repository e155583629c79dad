/**
 * `tunnelplane doctor [--config FILE] [--secret-dir DIR] [--json]`: a configuration checked as
 * `serve` would at start (the same sources, the same words), each check ok, warn, fail or
 * skip with, when something is wrong, the key that causes it and the fix. Exit status 0 when
 * nothing failed (warnings included), 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { ConfigError, type ServerConfig } from '../config/index.js';
import { ENV } from '../config/env-vars.js';
import {
  checkCloudflare,
  checkDatabase,
  checkIdentityProvider,
  checkKubernetes,
  checkSecretKey,
  type CheckResult,
} from './doctor-checks.js';
import { serveConfig } from './server-config.js';

/** Which `TUNNELPLANE_*` variable sets a key, for the fixes. */
const VARIABLE = new Map(Object.entries(ENV).map(([name, key]) => [key, name]));

/** A ConfigError's problems, one failed check each, with the key it names. */
function configProblems(err: ConfigError, flags: { config?: string; secretDir?: string }): CheckResult[] {
  return err.problems.map((problem) => {
    let key: string;
    let message = problem;
    if (flags.config && problem.startsWith(`${flags.config}:`)) key = '--config';
    else if (
      problem.startsWith('secret directory') ||
      (flags.secretDir && problem.startsWith(flags.secretDir))
    )
      key = '--secret-dir';
    else {
      const m = /^([A-Za-z][\w]*(?:\.[\w]+)*)(?: \([^)]*\))?: ([\s\S]*)$/.exec(problem);
      key = m?.[1] ?? '(configuration)';
      if (m) message = m[2]!;
    }
    const variable = VARIABLE.get(key);
    const fix = key.startsWith('--')
      ? `correct ${key} (${problem.split(': ').slice(1).join(': ')})`
      : `correct ${key} in the configuration file${variable ? ` or ${variable}` : ''}`;
    return { check: 'configuration', status: 'fail', message, key, fix };
  });
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

/** Every check, in a fixed order; the outside systems are asked at the same time. */
export async function runDoctor(config: ServerConfig): Promise<CheckResult[]> {
  const groups = await Promise.all([
    checkDatabase(config),
    checkCloudflare(config),
    checkKubernetes(config),
    checkIdentityProvider(config),
  ]);
  return [...checkSecretKey(config), ...groups.flat()];
}

function render(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.check.length));
  const lines = report.checks.map((c) => {
    const head = `${c.status.padEnd(4)}  ${c.check.padEnd(width)}  `;
    const text = c.key ? `${c.key}: ${c.message}` : c.message;
    return c.fix ? `${head}${text}\n${' '.repeat(head.length)}fix: ${c.fix}` : `${head}${text}`;
  });
  const count = (s: string) => report.checks.filter((c) => c.status === s).length;
  const failures = count('fail');
  const warnings = count('warn');
  lines.push(
    failures
      ? `${failures} check${failures === 1 ? '' : 's'} failed${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`
      : `all checks passed${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** 0 when no check failed, 1 otherwise. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'secret-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  let checks: CheckResult[];
  try {
    const config = serveConfig({ config: values.config, 'secret-dir': values['secret-dir'] });
    checks = [{ check: 'configuration', status: 'ok', message: 'parses' }, ...(await runDoctor(config))];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks = [
      ...configProblems(err, {
        ...(values.config ? { config: values.config } : {}),
        ...(values['secret-dir'] ? { secretDir: values['secret-dir'] } : {}),
      }),
      { check: 'other checks', status: 'skip', message: 'the configuration does not parse' },
    ];
  }
  const report: DoctorReport = { ok: checks.every((c) => c.status !== 'fail'), checks };
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : render(report));
  return report.ok ? 0 : 1;
}
