import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../domain/errors.js';
import type { DnsWrite } from './dns-plan.js';
import {
  afterBatch,
  afterRefusedBatch,
  batchFailure,
  type BatchAnswer,
  type DnsFollowUp,
} from './dns-batch-plan.js';

const cname = {
  name: 'web-tun.example.com',
  content: 'abc.cfargotunnel.com',
  comment: 'managed-by:tunnelplane/t tunnel=tun route=web',
};

describe('batchFailure', () => {
  const cf = (kind: ProviderError['kind'], message = 'x', providerCode: number | null = null) =>
    new ProviderError({ provider: 'cloudflare', kind, message, providerCode });
  const cases: Array<[string, unknown, BatchAnswer]> = [
    ['a 400: refused, nothing written', cf('invalid'), { kind: 'refused', recordQuota: false }],
    ['a 403: refused', cf('permission'), { kind: 'refused', recordQuota: false }],
    ['code 81045: the record quota', cf('invalid', 'x', 81045), { kind: 'refused', recordQuota: true }],
    [
      'the quota by its wording',
      cf('invalid', 'Record quota exceeded.'),
      { kind: 'refused', recordQuota: true },
    ],
    ['a 5xx or a timeout: the answer may be lost', cf('transient'), { kind: 'lost' }],
    ['a 429', cf('rate_limited'), { kind: 'lost' }],
    ['a conflict (about one record: the look finds it)', cf('conflict'), { kind: 'lost' }],
    ['a 404', cf('not_found'), { kind: 'lost' }],
    ['anything else', new Error('socket hang up'), { kind: 'lost' }],
  ];
  it.each(cases)('%s', (_name, err, answer) => {
    expect(batchFailure(err)).toEqual(answer);
  });
});

describe('afterBatch', () => {
  const del: DnsWrite = { kind: 'delete', routeId: 'd', id: 'rec-d' };
  const post: DnsWrite = { kind: 'post', routeId: 'p', record: cname };
  const patch: DnsWrite = { kind: 'patch', routeId: 'c', id: 'rec-c', record: cname };
  const quota: BatchAnswer = { kind: 'refused', recordQuota: true };
  const cases: Array<[string, DnsWrite[], BatchAnswer, DnsFollowUp[]]> = [
    [
      'answered: each record known',
      [del, post, patch],
      { kind: 'sent', created: ['new-p'] },
      [
        { kind: 'record', routeId: 'd', recordId: null },
        { kind: 'record', routeId: 'p', recordId: 'new-p' },
        { kind: 'record', routeId: 'c', recordId: 'rec-c' },
      ],
    ],
    [
      'answered without the created record: its route fails',
      [post],
      { kind: 'sent', created: [] },
      [{ kind: 'fail', routeId: 'p', why: 'missing' }],
    ],
    [
      'lost: every route fails, still marked',
      [del, post],
      { kind: 'lost' },
      [
        { kind: 'fail', routeId: 'd', why: 'batch' },
        { kind: 'fail', routeId: 'p', why: 'batch' },
      ],
    ],
    [
      'refused: what is known settled, every route fails',
      [del, patch],
      { kind: 'refused', recordQuota: false },
      [
        { kind: 'record', routeId: 'd', recordId: 'rec-d' },
        { kind: 'fail', routeId: 'd', why: 'batch' },
        { kind: 'fail', routeId: 'c', why: 'batch' },
      ],
    ],
    [
      'over the quota: creates blocked, the others sent again on their own',
      [del, post],
      quota,
      [
        { kind: 'record', routeId: 'd', recordId: 'rec-d' },
        { kind: 'record', routeId: 'p', recordId: null },
        { kind: 'block_quota', routeId: 'p' },
        { kind: 'resend', ops: [del] },
      ],
    ],
    [
      'over the quota, creates only: blocked',
      [post],
      quota,
      [
        { kind: 'record', routeId: 'p', recordId: null },
        { kind: 'block_quota', routeId: 'p' },
      ],
    ],
    [
      'the quota named with no create in it: the others fail',
      [del],
      quota,
      [
        { kind: 'record', routeId: 'd', recordId: 'rec-d' },
        { kind: 'fail', routeId: 'd', why: 'quota' },
      ],
    ],
  ];
  it.each(cases)('%s', (_name, chunk, answer, followUps) => {
    expect(afterBatch(chunk, answer)).toEqual(followUps);
  });
});

describe('afterRefusedBatch', () => {
  it('a refused delete keeps its record, a refused create made none, a refused patch is looked at again', () => {
    expect(
      afterRefusedBatch([
        { kind: 'delete', routeId: 'a', id: 'rec-a' },
        { kind: 'post', routeId: 'b', record: cname },
        { kind: 'patch', routeId: 'c', id: 'rec-c', record: cname },
      ]),
    ).toEqual([
      { routeId: 'a', recordId: 'rec-a', uncertain: false },
      { routeId: 'b', recordId: null, uncertain: false },
    ]);
  });
});
