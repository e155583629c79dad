import { describe, expect, it } from 'vitest';
import { parseArgv } from './args.js';
import { UsageError } from './errors.js';
import { age, renderTable } from './output.js';
import { shellQuote } from './run-command.js';

describe('parseArgv', () => {
  it.each([
    [['list'], ['list'], {}],
    [['-o', 'json', 'list'], ['list'], { output: 'json' }],
    [['list', '-ojson'], ['list'], { output: 'json' }],
    [['list', '-o=yaml'], ['list'], { output: 'yaml' }],
    [['list', '--output=yaml'], ['list'], { output: 'yaml' }],
    [
      ['tunnel', 'create', '--name', 'web', '--mode', 'remote'],
      ['tunnel', 'create'],
      { name: 'web', mode: 'remote' },
    ],
    [['create', '--no-wait'], ['create'], { wait: false }],
    [['create', '--no-wait', '--wait'], ['create'], { wait: true }],
    [['create', '--timeout', '5'], ['create'], { timeout: '5' }],
    [['route', 'delete', 't', '--', '--weird'], ['route', 'delete', 't', '--weird'], {}],
    [['-h'], [], { help: true }],
    [['run', 'x', '--print', '--show-token'], ['run', 'x'], { print: true, 'show-token': true }],
    [
      ['tokens', 'create', 'ci', '--scope', 'read', '--scope=write'],
      ['tokens', 'create', 'ci'],
      { scope: ['read', 'write'] },
    ],
    [['login', '--sso'], ['login'], { sso: true }],
  ])('%j', (argv, positionals, flags) => {
    const parsed = parseArgv(argv);
    expect(parsed.positionals).toEqual(positionals);
    expect(Object.fromEntries(parsed.flags)).toEqual(flags);
  });

  it.each([
    [['--frobnicate'], 'Unknown flag: --frobnicate'],
    [['-x'], 'Unknown flag: -x'],
    [['list', '-o'], 'Flag -o needs a value'],
    [['--print=yes'], 'Flag --print takes no value'],
    [['--no-print'], 'Unknown flag: --no-print'],
    [['--no-wait=1'], 'Flag --no-wait takes no value'],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgv(argv)).toThrow(UsageError);
    expect(() => parseArgv(argv)).toThrow(message);
  });
});

describe('renderTable', () => {
  it('aligns columns, three spaces apart, without trailing blanks', () => {
    expect(
      renderTable(
        ['NAME', 'SERVICE', 'X'],
        [
          ['a', 'http://localhost:8000', ''],
          ['longer-name', 'tcp://h:1', 'y'],
        ],
      ),
    ).toBe(
      [
        'NAME          SERVICE                 X',
        'a             http://localhost:8000',
        'longer-name   tcp://h:1               y',
        '',
      ].join('\n'),
    );
  });
});

describe('age', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it.each([
    ['2024-05-01T11:59:30Z', '30s'],
    ['2024-05-01T11:50:00Z', '10m'],
    ['2024-05-01T09:00:00Z', '3h'],
    ['2024-04-28T12:00:00Z', '3d'],
    ['not a date', '-'],
  ])('%s -> %s', (iso, expected) => {
    expect(age(iso, now)).toBe(expected);
  });
});

describe('shellQuote', () => {
  it.each([
    ['/tmp/tunnelctl-abc/config.yaml', '/tmp/tunnelctl-abc/config.yaml'],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['<redacted>', "'<redacted>'"],
  ])('%s', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });
});
