export { loadConfig, configSchema, ConfigError, readSecretDir } from './config.js';
export type { ServerConfig, LoadConfigInput } from './config.js';
export { parseOriginCert, formatOriginCert } from './origin-cert.js';
export type { OriginCert } from './origin-cert.js';
export { configuredZones, type ConfiguredZone, type ConfiguredZones } from './zones.js';
