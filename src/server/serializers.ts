/**
 * Fastify compiles a response serializer per route and status code: ~100 operations, each
 * with its refusals, most of them the same few schemas (the error envelope above all). Each
 * compiled serializer is generated code V8 keeps, so this factory (Fastify's own, plus a cache)
 * compiles each distinct schema once per set of shared schemas and hands the same function to
 * every route that declares it.
 */
import fastJson from 'fast-json-stringify';

type Serializer = (doc: unknown) => string;

export function sharedSerializers(externalSchemas: Record<string, unknown> | undefined, options: object) {
  const base = { ...options, schema: externalSchemas };
  const compiled = new Map<string, Serializer>();
  return ({ schema }: { schema: { $id?: string; [key: string]: unknown } }): Serializer => {
    const key = JSON.stringify(schema);
    let serializer = compiled.get(key);
    if (!serializer) {
      // As Fastify's compiler: a schema never refers to itself among the shared ones.
      let opts = base;
      if (schema.$id && externalSchemas?.[schema.$id]) {
        const { [schema.$id]: _self, ...others } = externalSchemas;
        opts = { ...base, schema: others };
      }
      serializer = fastJson(schema as never, opts as never) as unknown as Serializer;
      compiled.set(key, serializer);
    }
    return serializer;
  };
}
