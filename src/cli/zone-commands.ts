/**
 * Zones (issue 16): `zones` (the zones you may put routes under, your default marked) and the
 * admins' `admin users zones USER` / `admin teams zones TEAM` (show, or with --zones set, the
 * zones pinned to them; `--zones all` unpins).
 */
import type { Ctx } from './context.js';
import { UsageError } from './errors.js';
import { zonesTable } from './output.js';

export async function listZones(ctx: Ctx): Promise<number> {
  const { client } = await ctx.session();
  const zones = await client.zones.list();
  if (ctx.format === 'name') ctx.out(zones.items.map((z) => `${z.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(zones);
  else if (zones.items.length === 0)
    ctx.note('You may use no zone; an admin pins zones to you (tunnelctl admin users zones).');
  else ctx.out(zonesTable(zones.items));
  return 0;
}

/** Shows a user's or team's pinned zones; with --zones, sets them first. */
export async function pinZones(ctx: Ctx, kind: 'user' | 'team', name: string): Promise<number> {
  const value = ctx.flag('zones');
  const zones =
    value === undefined
      ? undefined
      : value.trim() === 'all'
        ? []
        : value
            .split(',')
            .map((z) => z.trim())
            .filter(Boolean);
  if (zones !== undefined && zones.length === 0 && value!.trim() !== 'all')
    throw new UsageError('--zones takes zone names (comma-separated), or all to unpin', [
      'admin',
      `${kind}s`,
      'zones',
    ]);
  const { client } = await ctx.session();
  ctx.subject[kind] = name;
  const pins =
    zones === undefined ? await client.zones.pins(kind, name) : await client.zones.setPins(kind, name, zones);
  if (ctx.format !== 'table') ctx.data(pins);
  else
    ctx.out(
      pins.zones.length === 0
        ? `${name}: every zone (nothing pinned)\n`
        : `${name}: ${pins.zones.join(', ')}\n`,
    );
  return 0;
}
