/**
 * Cloudflare Access, one application per protected route: TCP-like routes (a service token
 * admitted by Service Auth), HTTP routes with Access for people, and allow-listed routes (see
 * domain/access-policies.ts). Creation order: service token → application with its policies
 * (one call) → (DNS: the hostname goes public only once protected). Deletion runs the other way,
 * after the record is gone: application (its policies go with it) → service token.
 *
 * Access creates have no idempotency key: before a create the route is marked
 * `accessUncertain`; a later pass that finds the mark looks our objects up by name and adopts
 * them (rotating an adopted token, whose secret was never seen; putting the wanted policies on
 * an adopted application). A service token nearing its expiry, or one an admin asked to
 * rotate, is refreshed (a new expiry) and rotated (a new secret: the access pods roll).
 */
import { ProviderError } from '../../domain/errors.js';
import { isTcpLike, type Route } from '../../domain/model.js';
import { appSettings, policiesHash } from '../../domain/access-policies.js';
import type { ServiceToken } from '../../providers/cloudflare/index.js';
import { mapLimit } from '../map-limit.js';
import { patchRoute, type StepContext } from '../context.js';
import { desiredPolicies } from '../protection.js';
import { failRoute, type Work } from '../work.js';
import { accessTargets, planAccess, planAccessRemoval, type AccessOp } from './access-plan.js';

export function createAccessStep(ctx: StepContext) {
  const { cloudflare, secrets, ownership } = ctx;

  const tokenObjects = (r: Route, t: ServiceToken, clientSecret: string | null) => ({
    serviceTokenId: t.id,
    serviceTokenClientId: t.clientId || r.objects.serviceTokenClientId,
    serviceTokenSealed: secrets.seal(Buffer.from(clientSecret ?? '')),
    serviceTokenExpiresAt: t.expiresAt,
    tokenVersion: r.objects.tokenVersion + 1,
  });

  /** Our objects of one route, found by name after a create whose answer was lost. */
  async function adopt(w: Work, r: Route) {
    const name = ownership.accessName(w.tunnel.name, r.name);
    if (!r.objects.serviceTokenId && isTcpLike(r)) {
      const token = (await cloudflare.listServiceTokens(name)).find((t) => t.name === name);
      if (token) {
        // Its secret was never seen: rotate to learn one.
        const rotated = await cloudflare.rotateServiceToken(token.id);
        await patchRoute(
          ctx,
          w,
          r,
          tokenObjects(
            r,
            { ...rotated, expiresAt: rotated.expiresAt ?? token.expiresAt },
            rotated.clientSecret,
          ),
        );
      }
    }
    if (!r.objects.accessAppId) {
      const app = (await cloudflare.listAccessApps(name)).find(
        (a) => a.name === name && a.domain === r.hostname,
      );
      // Its policies are not known to be ours: leave the hash empty so they are put again.
      if (app)
        await patchRoute(ctx, w, r, { accessAppId: app.id, accessAud: app.aud, accessPoliciesHash: null });
    }
  }

  const gone = (err: unknown) => err instanceof ProviderError && err.kind === 'not_found';
  const planOptions = () => ({ now: Date.now(), renewBeforeMs: ctx.options.tokenRenewBeforeMs });

  /** Something we recorded is gone from Cloudflare (deleted by hand, or a delete whose answer was lost): forget it, make it again. */
  async function forgetToken(w: Work, r: Route) {
    await patchRoute(ctx, w, r, {
      serviceTokenId: null,
      serviceTokenClientId: null,
      serviceTokenSealed: null,
      serviceTokenExpiresAt: null,
      accessPoliciesHash: null,
    });
  }

  async function ensureOne(w: Work, r: Route) {
    try {
      await ensureOnce(w, r);
    } catch (err) {
      if (!gone(err)) throw err;
      // Once: an application or token we recorded vanished between our look and our write.
      ctx.logger.info(
        { tunnel: w.tunnel.name, route: r.name, err: (err as Error).message },
        'an Access object of the route is gone; making it again',
      );
      await ensureOnce(w, r, true);
    }
  }

  async function ensureOnce(w: Work, r: Route, retry = false) {
    if (retry) {
      // Which one vanished is not known: forget the application (its policies name the token) and look both up again.
      await patchRoute(ctx, w, r, {
        accessAppId: null,
        accessAud: null,
        accessPoliciesHash: null,
        accessUncertain: true,
      });
      if (
        r.objects.serviceTokenId &&
        (await cloudflare.listServiceTokens(ownership.accessName(w.tunnel.name, r.name))).every(
          (t) => t.id !== r.objects.serviceTokenId,
        )
      ) {
        await forgetToken(w, r);
      }
    }
    if (r.objects.accessUncertain) await adopt(w, r);
    for (const op of planAccess(r, planOptions())) await apply(w, r, op);
  }

  async function removeOne(w: Work, r: Route) {
    if (r.objects.accessUncertain) await adopt(w, r);
    for (const op of planAccessRemoval(r)) await apply(w, r, op);
  }

  /** Sends one operation and records what it made at once (a crash after it loses nothing). */
  async function apply(w: Work, r: Route, op: AccessOp) {
    const name = ownership.accessName(w.tunnel.name, r.name);
    const o = r.objects;
    switch (op.kind) {
      case 'mark_uncertain':
        return patchRoute(ctx, w, r, { accessUncertain: true });
      case 'clear_uncertain':
        if (o.accessUncertain) await patchRoute(ctx, w, r, { accessUncertain: false });
        return;
      case 'create_token': {
        const token = await cloudflare.createServiceToken(name);
        return patchRoute(ctx, w, r, tokenObjects(r, token, token.clientSecret));
      }
      case 'renew_token':
      case 'rotate_token': {
        const renewing = op.kind === 'renew_token';
        const refreshed = renewing ? await cloudflare.refreshServiceToken(o.serviceTokenId!) : null;
        const rotated = await cloudflare.rotateServiceToken(o.serviceTokenId!);
        const expiresAt = refreshed?.expiresAt ?? rotated.expiresAt ?? o.serviceTokenExpiresAt;
        await patchRoute(ctx, w, r, {
          ...tokenObjects(r, { ...rotated, expiresAt }, rotated.clientSecret),
          rotateRequested: false,
        });
        await ctx.events.append({
          ownerId: w.tunnel.ownerId,
          actor: 'reconciler',
          action: renewing ? 'route.token_renewed' : 'route.token_rotated',
          target: `${w.tunnel.name}/${r.name}`,
          outcome: 'ok',
          details: { expiresAt },
        });
        return;
      }
      case 'create_app': {
        const policies = desiredPolicies(r);
        const settings = appSettings(r.access);
        const app = await cloudflare.createAccessApp(name, r.hostname, policies, settings);
        return patchRoute(ctx, w, r, {
          accessAppId: app.id,
          accessAud: app.aud,
          accessPoliciesHash: policiesHash(policies, settings),
          accessUncertain: false,
        });
      }
      case 'update_app': {
        const policies = desiredPolicies(r);
        const settings = appSettings(r.access);
        await cloudflare.updateAccessApp(o.accessAppId!, name, r.hostname, policies, settings);
        return patchRoute(ctx, w, r, { accessPoliciesHash: policiesHash(policies, settings) });
      }
      case 'delete_app':
        await cloudflare.deleteAccessApp(o.accessAppId!);
        return patchRoute(ctx, w, r, { accessAppId: null, accessAud: null, accessPoliciesHash: null });
      case 'delete_token':
        await cloudflare.deleteServiceToken(o.serviceTokenId!);
        return patchRoute(ctx, w, r, {
          serviceTokenId: null,
          serviceTokenClientId: null,
          serviceTokenSealed: null,
          serviceTokenExpiresAt: null,
        });
    }
  }

  const each = (targets: Array<{ w: Work; r: Route }>, fn: (w: Work, r: Route) => Promise<void>) =>
    mapLimit(targets, ctx.options.concurrency, ({ w, r }) =>
      ctx.asOwner(w, async () => {
        try {
          await fn(w, r);
        } catch (err) {
          failRoute(w, r, err);
        }
      }),
    );

  const targets = (ws: Work[], which: 'ensure' | 'remove') =>
    ws.flatMap((w) => accessTargets(w)[which].map((r) => ({ w, r })));

  return {
    /** Every live route that needs protection has it, as it asks for it. */
    ensure: (ws: Work[]) => each(targets(ws, 'ensure'), ensureOne),
    /** Routes deleted (once their record is gone), or no longer protected: their Access objects go. */
    remove: (ws: Work[]) => each(targets(ws, 'remove'), removeOne),
  };
}
