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
import { isTcpLike, needsAccess, type Route } from '../../domain/model.js';
import { policiesHash } from '../../domain/access-policies.js';
import type { ServiceToken } from '../../providers/cloudflare/index.js';
import { mapLimit } from '../map-limit.js';
import { patchRoute, type StepContext } from '../context.js';
import { desiredPolicies } from '../protection.js';
import { failRoute, routeActive, routeLive, type Work } from '../work.js';

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

  const expiring = (r: Route) => {
    const at = r.objects.serviceTokenExpiresAt;
    return at !== null && Date.parse(at) - Date.now() < ctx.options.tokenRenewBeforeMs;
  };

  const gone = (err: unknown) => err instanceof ProviderError && err.kind === 'not_found';

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
    const tcp = isTcpLike(r);
    const name = ownership.accessName(w.tunnel.name, r.name);
    const missing = (tcp && !r.objects.serviceTokenId) || !r.objects.accessAppId;
    if (missing && !r.objects.accessUncertain) await patchRoute(ctx, w, r, { accessUncertain: true });
    if (tcp && !r.objects.serviceTokenId) {
      const token = await cloudflare.createServiceToken(name);
      await patchRoute(ctx, w, r, tokenObjects(r, token, token.clientSecret));
    } else if (tcp && (r.objects.rotateRequested || expiring(r))) {
      const renewing = expiring(r);
      const refreshed = renewing ? await cloudflare.refreshServiceToken(r.objects.serviceTokenId!) : null;
      const rotated = await cloudflare.rotateServiceToken(r.objects.serviceTokenId!);
      const expiresAt = refreshed?.expiresAt ?? rotated.expiresAt ?? r.objects.serviceTokenExpiresAt;
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
    }
    const policies = desiredPolicies(r);
    const hash = policiesHash(policies);
    if (!r.objects.accessAppId) {
      const app = await cloudflare.createAccessApp(name, r.hostname, policies);
      await patchRoute(ctx, w, r, {
        accessAppId: app.id,
        accessAud: app.aud,
        accessPoliciesHash: hash,
        accessUncertain: false,
      });
    } else if (r.objects.accessPoliciesHash !== hash) {
      await cloudflare.updateAccessApp(r.objects.accessAppId, name, r.hostname, policies);
      await patchRoute(ctx, w, r, { accessPoliciesHash: hash });
    }
    if (r.objects.accessUncertain) await patchRoute(ctx, w, r, { accessUncertain: false });
  }

  async function removeOne(w: Work, r: Route) {
    if (r.objects.accessUncertain) await adopt(w, r);
    if (r.objects.accessAppId) {
      await cloudflare.deleteAccessApp(r.objects.accessAppId);
      await patchRoute(ctx, w, r, { accessAppId: null, accessAud: null, accessPoliciesHash: null });
    }
    if (r.objects.serviceTokenId) {
      await cloudflare.deleteServiceToken(r.objects.serviceTokenId);
      await patchRoute(ctx, w, r, {
        serviceTokenId: null,
        serviceTokenClientId: null,
        serviceTokenSealed: null,
        serviceTokenExpiresAt: null,
      });
    }
    if (r.objects.accessUncertain) await patchRoute(ctx, w, r, { accessUncertain: false });
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

  return {
    /** Every live route that needs protection has it, as it asks for it. */
    ensure: (ws: Work[]) =>
      each(
        ws.flatMap((w) =>
          w.routes
            .filter((r) => routeLive(w, r) && needsAccess(r) && routeActive(w, r))
            .map((r) => ({ w, r })),
        ),
        ensureOne,
      ),

    /** Routes deleted (once their record is gone), or no longer protected: their Access objects go. */
    remove: (ws: Work[]) =>
      each(
        ws.flatMap((w) =>
          w.routes
            .filter((r) => routeActive(w, r) && (!routeLive(w, r) || !needsAccess(r)))
            .filter((r) => routeLive(w, r) || (!r.objects.dnsRecordId && !r.objects.dnsUncertain))
            .filter((r) => r.objects.accessAppId || r.objects.serviceTokenId || r.objects.accessUncertain)
            .map((r) => ({ w, r })),
        ),
        removeOne,
      ),
  };
}
