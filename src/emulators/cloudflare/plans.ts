// Zone plans and the limits the emulator enforces for each (Cloudflare plan table,
// reference/cloudflare.md §3.2, §3.4, §4.1).

export type Plan = 'free' | 'pro';

export interface PlanLimits {
  /** Maximum DNS record comment length. */
  commentMaxLength: number;
  /** Whether DNS record tags are allowed. */
  tags: boolean;
  /** Operations per DNS batch request. */
  batchOperations: number;
  /** Rules in the http_request_firewall_custom phase. */
  customRules: number;
  /** DNS records per zone. */
  recordQuota: number;
  /** `plan` object shown on the zone. */
  name: string;
  price: number;
}

export const planLimits: Readonly<Record<Plan, PlanLimits>> = {
  free: {
    commentMaxLength: 100,
    tags: false,
    batchOperations: 200,
    customRules: 5,
    recordQuota: 200,
    name: 'Free Website',
    price: 0,
  },
  pro: {
    commentMaxLength: 500,
    tags: true,
    batchOperations: 3500,
    customRules: 20,
    recordQuota: 3500,
    name: 'Pro Website',
    price: 20,
  },
};

export function isPlan(value: unknown): value is Plan {
  return value === 'free' || value === 'pro';
}
