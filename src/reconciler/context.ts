/** What every step of a pass is given: the providers, the repositories it records through, settings. */
import type { Ownership } from '../domain/ownership.js';
import type { Zones } from '../domain/zones.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { Route, RouteObjects } from '../domain/model.js';
import type {
  EventsRepository,
  LeasesRepository,
  SettingsRepository,
  WorkRepository,
} from '../store/index.js';
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import type { ReconcilerOptions } from './options.js';
import type { Work } from './work.js';

export interface ReconcilerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface TcpAccessSettings {
  image: string;
  replicas: number;
  port: number;
}

export interface StepContext {
  work: WorkRepository;
  events: EventsRepository;
  leases: LeasesRepository;
  settings: SettingsRepository;
  cloudflare: CloudflareApi;
  kubernetes: KubernetesApi | null;
  secrets: SecretBox;
  logger: ReconcilerLogger;
  options: ReconcilerOptions;
  ownership: Ownership;
  /** The configured zones: each route's record is written, looked up and deleted in its own. */
  zones: Zones;
  tcpAccess: TcpAccessSettings;
  /** Runs a tunnel's Cloudflare calls as its owner's (the rate limiter serves owners in turn). */
  asOwner<T>(w: Work, fn: () => Promise<T>): Promise<T>;
}

/** Records what was learnt of one route's outside objects, in memory and in the store at once. */
export async function patchRoute(ctx: StepContext, w: Work, r: Route, objects: Partial<RouteObjects>) {
  Object.assign(r.objects, objects);
  await ctx.work.patchRoutes([{ tunnelId: w.tunnel.id, routeId: r.id, objects }]);
}

/** The same for many routes of many tunnels: one store call. */
export async function patchRoutes(
  ctx: StepContext,
  items: Array<{ w: Work; r: Route; objects: Partial<RouteObjects> }>,
) {
  for (const { r, objects } of items) Object.assign(r.objects, objects);
  await ctx.work.patchRoutes(
    items.map(({ w, r, objects }) => ({ tunnelId: w.tunnel.id, routeId: r.id, objects })),
  );
}
