/**
 * Zones (issue 16): `GET /api/v1/zones` (the zones the caller may use, with their default), and
 * for admins the zones pinned to a user or team (`/api/v1/admin/{users,teams}/:name/zones`).
 */
import type { FastifyInstance } from 'fastify';
import { actorOf, errorSchema, errors } from './schemas.js';
import type { ZoneService } from './zone-service.js';

const zoneSchema = {
  type: 'object',
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
        summary: 'The zones you may put routes under, and your default',
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: zoneSchema },
              defaultZone: { type: 'string', nullable: true },
            },
          },
          ...errors,
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
    v1.get<{ Params: Record<typeof kind, string> }>(
      path,
      {
        config: { admin: true },
        schema: {
          tags: ['admin'],
          summary: `The zones pinned to a ${kind} (empty: every zone)`,
          params: nameParam(kind),
          response: { 200: pinsSchema, ...errors },
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
          summary: `Pin a ${kind} to these zones (their routes may use only these, with their teams'); [] unpins`,
          params: nameParam(kind),
          body: pinsBody,
          response: { 200: pinsSchema, ...errors, 422: errorSchema },
        },
      },
      async (req) => zones.setPins(actorOf(req), kind, req.params[kind], req.body.zones),
    );
  }
}
