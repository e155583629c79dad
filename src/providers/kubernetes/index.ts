export * from './kubernetes-api.js';
export * from './access-review.js';
