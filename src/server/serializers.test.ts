import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { sharedSerializers } from './serializers.js';

const envelope = {
  $id: 'Envelope',
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', properties: { code: { type: 'string' } } } },
};

describe('shared response serializers', () => {
  it('compiles each distinct schema once and gives every route that declares it the same function', () => {
    const compile = sharedSerializers({ Envelope: envelope }, {});
    const a = compile({ schema: { $ref: 'Envelope#' } });
    const b = compile({ schema: { $ref: 'Envelope#' } });
    const other = compile({ schema: { type: 'object', properties: { n: { type: 'integer' } } } });
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    expect(a({ error: { code: 'x', secret: 'dropped' } })).toBe('{"error":{"code":"x"}}');
    expect(other({ n: 2, m: 3 })).toBe('{"n":2}');
  });

  it('serializes what Fastify answers by each route’s own schema', async () => {
    const app = Fastify({
      schemaController: { compilersFactory: { buildSerializer: sharedSerializers as never } },
    });
    app.addSchema(envelope);
    const response = {
      200: { type: 'object', properties: { name: { type: 'string' } } },
      404: { $ref: 'Envelope#' },
    };
    app.get('/a', { schema: { response } }, async () => ({ name: 'a', hidden: 1 }));
    app.get('/b', { schema: { response } }, async (_req, reply) =>
      reply.status(404).send({ error: { code: 'b.not_found', stack: 'no' } }),
    );
    expect((await app.inject('/a')).body).toBe('{"name":"a"}');
    expect((await app.inject('/b')).body).toBe('{"error":{"code":"b.not_found"}}');
    await app.close();
  });
});
