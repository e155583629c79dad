/**
 * Zones (issue 16): `GET /api/v1/zones` (the zones the caller may use, with their default), and
 * for admins the zones pinned to a user or team (`/api/v1/admin/{users,teams}/:name/zones`).
 */
import type { FastifyInstance } from 'fastify';
import { actorOf, refusals } from './schemas.js';
import type { ZoneService } from './zone-service.js';

const zoneSchema = {
  type: 'object',
  required: ['name', 'id', 'plan', 'dnsBatchLimit', 'default'],
  properties: {
    name: { type: 'string' },
    id: { type: 'string' },
    plan: { type: 'string', nullable: true },
    dnsBatchLimit: { type: 'integer' },
    default: { type: 'boolean' },
  },
} as const;

const pinsSchema = {
  type: 'object',
  required: ['zones'],
  properties: { zones: { type: 'array', items: { type: 'string' } } },
} as const;

const pinsBody = {
  type: 'object',
  required: ['zones'],
  additionalProperties: false,
  properties: { zones: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 253 } } },
} as const;

const nameParam = (key: string) => ({
  type: 'object',
  required: [key],
  properties: { [key]: { type: 'string', maxLength: 100 } },
});

export function registerZoneRoutes(v1: FastifyInstance, deps: { zones: ZoneService }) {
  const { zones } = deps;

  v1.get(
    '/zones',
    {
      schema: {
        tags: ['zones'],
        operationId: 'listZones',
        summary: 'The zones you may put routes under, and your default',
        response: {
          200: {
            type: 'object',
            required: ['items', 'defaultZone'],
            properties: {
              items: { type: 'array', items: zoneSchema },
              defaultZone: { type: 'string', nullable: true },
            },
          },
        },
      },
    },
    async (req) => {
      const list = await zones.list(actorOf(req));
      return {
        items: list.items.map((z) => ({ ...z, default: z.name === list.defaultZone })),
        defaultZone: list.defaultZone,
      };
    },
  );

  for (const kind of ['user', 'team'] as const) {
    const path = `/admin/${kind}s/:${kind}/zones`;
    const Kind = kind === 'user' ? 'User' : 'Team';
    v1.get<{ Params: Record<typeof kind, string> }>(
      path,
      {
        config: { admin: true },
        schema: {
          tags: ['admin'],
          operationId: `get${Kind}Zones`,
          summary: `The zones pinned to a ${kind} (empty: every zone)`,
          params: nameParam(kind),
          response: {
            200: pinsSchema,
            ...refusals(kind === 'user' ? 'user.not_found' : 'team.not_found'),
          },
        },
      },
      async (req) => zones.pins(kind, req.params[kind]),
    );
    v1.put<{ Params: Record<typeof kind, string>; Body: { zones: string[] } }>(
      path,
      {
        config: { admin: true },
        schema: {
          tags: ['admin'],
          operationId: `set${Kind}Zones`,
          summary: `Pin a ${kind} to these zones (their routes may use only these, with their teams'); [] unpins`,
          params: nameParam(kind),
          body: pinsBody,
          response: {
            200: pinsSchema,
            ...refusals(
              'request.invalid',
              kind === 'user' ? 'user.not_found' : 'team.not_found',
              'zone.unknown',
            ),
          },
        },
      },
      async (req) => zones.setPins(actorOf(req), kind, req.params[kind], req.body.zones),
    );
  }
}
