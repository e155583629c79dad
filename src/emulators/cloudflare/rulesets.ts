// Zone rulesets (reference §4.1): phase entrypoints (PUT creates the entrypoint and
// replaces all its rules), single-rule create/edit/delete, and the zone's ruleset list.
// Invariants: every change bumps the ruleset `version`; the http_request_firewall_custom
// phase holds at most the plan's custom-rule count and only WAF custom-rule actions; every
// stored expression is at most 4,096 characters and passes wirefilter-syntax.ts.
import { apiErrors } from './errors.js';
import { hexId, timestamp } from './ids.js';
import { bodyObject, isObject, type JsonObject } from './input.js';
import { planLimits } from './plans.js';
import { route, type Route, type RouteContext } from './router.js';
import type { RuleRow, RulesetRow, Store, ZoneRow } from './state.js';
import { checkWirefilterSyntax, usesRegexOperator } from './wirefilter-syntax.js';

const CUSTOM_PHASE = 'http_request_firewall_custom';
const CUSTOM_ACTIONS = new Set(['block', 'challenge', 'js_challenge', 'managed_challenge', 'skip', 'log']);
/** developers.cloudflare.com/ruleset-engine/rules-language/expressions/: "The maximum length of a rule expression is 4,096 characters." */
const MAX_EXPRESSION_LENGTH = 4096;

function renderRule(rule: RuleRow): Record<string, unknown> {
  return {
    id: rule.id,
    version: String(rule.version),
    action: rule.action,
    expression: rule.expression,
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    last_updated: rule.lastUpdated,
    ref: rule.ref,
    enabled: rule.enabled,
    ...(rule.actionParameters ? { action_parameters: rule.actionParameters } : {}),
    ...(rule.logging ? { logging: rule.logging } : {}),
  };
}

function renderSummary(ruleset: RulesetRow): Record<string, unknown> {
  return {
    id: ruleset.id,
    name: ruleset.name,
    description: ruleset.description,
    kind: ruleset.kind,
    phase: ruleset.phase,
    version: String(ruleset.version),
    last_updated: ruleset.lastUpdated,
  };
}

export function renderRuleset(ruleset: RulesetRow): Record<string, unknown> {
  return { ...renderSummary(ruleset), rules: ruleset.rules.map(renderRule) };
}

/** Length, wirefilter syntax and plan-gated operators; throws the 400 to send. */
function checkExpression(expression: string, zone: ZoneRow, pointer: string): void {
  const length = [...expression].length;
  if (length > MAX_EXPRESSION_LENGTH) {
    throw apiErrors.expressionTooLong(length, MAX_EXPRESSION_LENGTH, pointer);
  }
  const problem = checkWirefilterSyntax(expression);
  if (problem) throw apiErrors.expressionInvalid(problem, pointer);
  if (usesRegexOperator(expression)) {
    throw apiErrors.rulesetInvalid(
      `the regex operator "matches" is not available on the ${zone.plan} plan`,
      pointer,
    );
  }
}

function readRule(
  input: unknown,
  pointer: string,
  phase: string,
  zone: ZoneRow,
  existing?: RuleRow,
): Omit<RuleRow, 'id' | 'version' | 'lastUpdated'> {
  if (!isObject(input)) throw apiErrors.rulesetInvalid('rule must be an object', pointer);
  const merged: JsonObject = existing
    ? {
        action: existing.action,
        expression: existing.expression,
        description: existing.description,
        enabled: existing.enabled,
        ref: existing.ref,
        action_parameters: existing.actionParameters,
        logging: existing.logging,
        ...input,
      }
    : input;
  const { action, expression, description, enabled, ref, action_parameters: params, logging } = merged;
  if (typeof action !== 'string' || action === '')
    throw apiErrors.rulesetInvalid('action is required', `${pointer}/action`);
  if (phase === CUSTOM_PHASE) {
    if (!CUSTOM_ACTIONS.has(action)) {
      throw apiErrors.rulesetInvalid(
        `'${action}' is not a valid action for the ${phase} phase`,
        `${pointer}/action`,
      );
    }
    if (action === 'log') {
      throw apiErrors.rulesetInvalid(
        `the log action is not available on the ${zone.plan} plan`,
        `${pointer}/action`,
      );
    }
  }
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw apiErrors.rulesetInvalid('expression is required', `${pointer}/expression`);
  }
  checkExpression(expression, zone, `${pointer}/expression`);
  if (description !== undefined && typeof description !== 'string') {
    throw apiErrors.rulesetInvalid('description must be a string', `${pointer}/description`);
  }
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw apiErrors.rulesetInvalid('enabled must be a boolean', `${pointer}/enabled`);
  }
  if (params !== undefined && !isObject(params)) {
    throw apiErrors.rulesetInvalid('action_parameters must be an object', `${pointer}/action_parameters`);
  }
  const response = params?.response;
  if (action === 'block' && response !== undefined) {
    const ok =
      isObject(response) &&
      Number.isInteger(response.status_code) &&
      (response.status_code as number) >= 400 &&
      (response.status_code as number) <= 499 &&
      typeof response.content === 'string' &&
      response.content !== '' &&
      typeof response.content_type === 'string';
    if (!ok) {
      throw apiErrors.rulesetInvalid(
        'response needs status_code (400-499), content and content_type',
        `${pointer}/action_parameters/response`,
      );
    }
  }
  return {
    ref: typeof ref === 'string' && ref !== '' ? ref : '',
    action,
    expression,
    ...(typeof description === 'string' ? { description } : {}),
    enabled: enabled ?? true,
    ...(params ? { actionParameters: params } : {}),
    ...(isObject(logging) ? { logging } : {}),
  };
}

function checkRuleCount(ruleset: RulesetRow, count: number, zone: ZoneRow): void {
  const limit = planLimits[zone.plan].customRules;
  if (ruleset.phase === CUSTOM_PHASE && count > limit) {
    throw apiErrors.rulesetInvalid(
      `exceeded maximum number of zone rules in phase ${CUSTOM_PHASE}: ${limit} out of ${limit}`,
      '/rules',
    );
  }
}

function newRule(
  fields: Omit<RuleRow, 'id' | 'version' | 'lastUpdated'>,
  version: number,
  now: string,
  id = hexId(),
): RuleRow {
  return { ...fields, id, ref: fields.ref || id, version, lastUpdated: now };
}

function insertAt(rules: RuleRow[], rule: RuleRow, position: unknown): void {
  if (!isObject(position)) {
    rules.push(rule);
    return;
  }
  const anchor = (key: 'before' | 'after') => {
    const index = rules.findIndex((r) => r.id === position[key]);
    if (index < 0)
      throw apiErrors.rulesetInvalid(`position.${key} refers to an unknown rule`, `/position/${key}`);
    return index;
  };
  if (typeof position.before === 'string') rules.splice(anchor('before'), 0, rule);
  else if (typeof position.after === 'string') rules.splice(anchor('after') + 1, 0, rule);
  else if (typeof position.index === 'number') rules.splice(Math.max(0, position.index - 1), 0, rule);
  else rules.push(rule);
}

export function rulesetRoutes(store: Store): Route[] {
  const zoneOf = (ctx: RouteContext): ZoneRow => {
    const zone = store.state.zones.find((z) => z.id === ctx.params.zone);
    if (!zone) throw apiErrors.noRoute(ctx.path);
    return zone;
  };
  const entrypoint = (zone: ZoneRow, phase: string) =>
    store.state.rulesets.find((r) => r.zoneId === zone.id && r.phase === phase && r.kind === 'zone');
  const rulesetById = (ctx: RouteContext) => {
    const zone = zoneOf(ctx);
    const ruleset = store.state.rulesets.find((r) => r.zoneId === zone.id && r.id === ctx.params.ruleset);
    if (!ruleset) throw apiErrors.rulesetNotFound();
    return { zone, ruleset };
  };
  const bump = (ruleset: RulesetRow, now: string) => {
    ruleset.version += 1;
    ruleset.lastUpdated = now;
  };

  return [
    route('GET', '/zones/:zone/rulesets', 'rulesets', (ctx) => {
      const zone = zoneOf(ctx);
      return { result: store.state.rulesets.filter((r) => r.zoneId === zone.id).map(renderSummary) };
    }),

    route('GET', '/zones/:zone/rulesets/:ruleset', 'rulesets', (ctx) => ({
      result: renderRuleset(rulesetById(ctx).ruleset),
    })),

    route('GET', '/zones/:zone/rulesets/phases/:phase/entrypoint', 'rulesets', (ctx) => {
      const phase = ctx.params.phase ?? '';
      const ruleset = entrypoint(zoneOf(ctx), phase);
      if (!ruleset) throw apiErrors.entrypointNotFound(phase);
      return { result: renderRuleset(ruleset) };
    }),

    route('PUT', '/zones/:zone/rulesets/phases/:phase/entrypoint', 'rulesets', (ctx) => {
      const zone = zoneOf(ctx);
      const phase = ctx.params.phase ?? '';
      const body = bodyObject(ctx.body, (m) => apiErrors.rulesetInvalid(m));
      const rulesInput = body.rules ?? [];
      if (!Array.isArray(rulesInput)) throw apiErrors.rulesetInvalid('rules must be an array', '/rules');
      const now = timestamp();
      const existing = entrypoint(zone, phase);
      const version = (existing?.version ?? 0) + 1;
      const rules = rulesInput.map((input, i) => {
        const pointer = `/rules/${i}`;
        const id = isObject(input) && typeof input.id === 'string' ? input.id : undefined;
        const previous = id ? existing?.rules.find((r) => r.id === id) : undefined;
        if (id && !previous)
          throw apiErrors.rulesetInvalid(`rule ${id} does not exist in this ruleset`, `${pointer}/id`);
        return newRule(readRule(input, pointer, phase, zone), version, now, previous?.id);
      });
      const ruleset: RulesetRow = existing ?? {
        id: hexId(),
        zoneId: zone.id,
        name: 'default',
        description: '',
        kind: 'zone',
        phase,
        version: 0,
        lastUpdated: now,
        rules: [],
      };
      checkRuleCount(ruleset, rules.length, zone);
      if (typeof body.name === 'string' && body.name !== '') ruleset.name = body.name;
      if (typeof body.description === 'string') ruleset.description = body.description;
      ruleset.rules = rules;
      ruleset.version = version;
      ruleset.lastUpdated = now;
      if (!existing) store.state.rulesets.push(ruleset);
      return { result: renderRuleset(ruleset) };
    }),

    route('POST', '/zones/:zone/rulesets/:ruleset/rules', 'rulesets', (ctx) => {
      const { zone, ruleset } = rulesetById(ctx);
      const body = bodyObject(ctx.body, (m) => apiErrors.rulesetInvalid(m));
      checkRuleCount(ruleset, ruleset.rules.length + 1, zone);
      const now = timestamp();
      const rule = newRule(readRule(body, '', ruleset.phase, zone), ruleset.version + 1, now);
      insertAt(ruleset.rules, rule, body.position);
      bump(ruleset, now);
      return { result: renderRuleset(ruleset) };
    }),

    route('PATCH', '/zones/:zone/rulesets/:ruleset/rules/:rule', 'rulesets', (ctx) => {
      const { zone, ruleset } = rulesetById(ctx);
      const index = ruleset.rules.findIndex((r) => r.id === ctx.params.rule);
      const current = ruleset.rules[index];
      if (!current) throw apiErrors.ruleNotFound();
      const body = bodyObject(ctx.body, (m) => apiErrors.rulesetInvalid(m));
      const now = timestamp();
      const updated = {
        ...newRule(readRule(body, '', ruleset.phase, zone, current), ruleset.version + 1, now, current.id),
      };
      if (!updated.ref) updated.ref = current.ref;
      ruleset.rules.splice(index, 1);
      if (isObject(body.position)) insertAt(ruleset.rules, updated, body.position);
      else ruleset.rules.splice(index, 0, updated);
      bump(ruleset, now);
      return { result: renderRuleset(ruleset) };
    }),

    route('DELETE', '/zones/:zone/rulesets/:ruleset/rules/:rule', 'rulesets', (ctx) => {
      const { ruleset } = rulesetById(ctx);
      const index = ruleset.rules.findIndex((r) => r.id === ctx.params.rule);
      if (index < 0) throw apiErrors.ruleNotFound();
      ruleset.rules.splice(index, 1);
      bump(ruleset, timestamp());
      return { result: renderRuleset(ruleset) };
    }),
  ];
}
