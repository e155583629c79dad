export * from './cloudflare-api.js';
export * from './rate-limiter.js';
