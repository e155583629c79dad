/**
 * `tunnelplane gc [--confirm DIGEST] [--include-unvouched] [--json]`: shows the orphan
 * collection plan and its digest; deletes it only when confirmed with the digest of the very
 * plan reviewed.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serveConfig } from './server-config.js';
import { UsageError } from './usage.js';

/** 12 hex digits naming exactly the objects a plan would delete. */
function planDigest(orphans: ReadonlyArray<{ kind: string; id: string }>): string {
  const keys = orphans.map((o) => `${o.kind}:${o.id}`).sort();
  return createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 12);
}

/** 0, or 1 when nothing was deleted because the plan changed, or some deletions failed. */
export async function gcCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'secret-dir': { type: 'string' },
      database: { type: 'string' },
      confirm: { type: 'string' },
      'include-unvouched': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const config = serveConfig({
    config: values.config,
    'secret-dir': values['secret-dir'],
    database: values.database,
  });
  const { createCore, createCoreReconciler, createLogger } = await import('./runtime.js');
  const { describeOrphans } = await import('../reconciler/index.js');
  if (values.confirm !== undefined && !/^[0-9a-f]{12}$/.test(values.confirm))
    throw new UsageError('--confirm takes the plan digest `tunnelplane gc` printed (12 hex digits)');
  const core = await createCore(config, {
    logger: createLogger(config.log.level === 'info' ? 'warn' : config.log.level),
    syncUsers: false,
  });
  try {
    const reconciler = createCoreReconciler(core, { replicaId: `gc-${process.pid}` });
    const plan = await reconciler.planOrphans();
    const chosen = [...plan.collectable, ...(values['include-unvouched'] ? plan.unvouched : [])];
    // What a person reviewed is what goes: the plan is named by a digest of exactly what it deletes.
    const digest = planDigest(chosen);
    let result = null;
    if (values.confirm !== undefined && values.confirm !== digest) {
      process.stderr.write(
        `tunnelplane: the plan changed since it was reviewed (now ${digest}, not ${values.confirm}): nothing deleted; review it again with tunnelplane gc\n`,
      );
      return 1;
    }
    if (values.confirm && chosen.length > 0) result = await reconciler.applyOrphans(chosen);
    if (values.json) {
      process.stdout.write(
        JSON.stringify({
          installation: core.ownership.id,
          ours: plan.ours,
          collectable: plan.collectable,
          unvouched: plan.unvouched,
          digest,
          applied: result,
        }) + '\n',
      );
      return result?.failed ? 1 : 0;
    }
    const out = process.stdout;
    out.write(`installation ${core.ownership.id}: ${plan.ours} objects carry its marker\n`);
    out.write(`${plan.collectable.length} provably ours and wanted by no row (a tombstone names them):\n`);
    for (const line of describeOrphans(plan.collectable, Infinity)) out.write(`  ${line}\n`);
    out.write(
      `${plan.unvouched.length} carrying its marker that its database does not know (left alone${values['include-unvouched'] ? '' : '; --include-unvouched takes them too'}):\n`,
    );
    for (const line of describeOrphans(plan.unvouched, Infinity)) out.write(`  ${line}\n`);
    if (!values.confirm) {
      out.write(
        chosen.length > 0
          ? `nothing deleted: run again with --confirm ${digest} to delete ${chosen.length}\n`
          : 'nothing to delete\n',
      );
    } else if (result) {
      const deleted =
        result.orphanRecords + result.orphanTunnels + result.orphanAccess + result.orphanKubernetes;
      out.write(
        `deleted ${deleted}${result.failed ? `; ${result.failed} failed (see the log; run again)` : ''}\n`,
      );
      if (result.failed) return 1;
    } else {
      out.write('nothing to delete\n');
    }
    return 0;
  } finally {
    await core.closeStore();
  }
}
