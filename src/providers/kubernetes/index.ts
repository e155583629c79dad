export * from './kubernetes-api.js';
