// `tunnelplane emulate cloudflare`: argument parsing, the --json line, serving until
// SIGTERM, and --state persistence across a restart.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hostWarning, parseCloudflareEmulatorArgs } from './cli.js';
import { startCloudflareEmulator } from './index.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cf-emulator-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('argument parsing', () => {
  it('reads every flag, in both --flag value and --flag=value forms', () => {
    expect(parseCloudflareEmulatorArgs([])).toEqual({
      emulator: { port: 8787, host: '127.0.0.1' },
      json: false,
      help: false,
    });
    expect(
      parseCloudflareEmulatorArgs([
        '--port',
        '0',
        '--host=0.0.0.0',
        '--token',
        't',
        '--zone',
        'Demo.Test',
        '--plan',
        'pro',
        '--state',
        'f.json',
        '--json',
      ]),
    ).toEqual({
      emulator: {
        port: 0,
        host: '0.0.0.0',
        token: 't',
        zoneName: 'demo.test',
        plan: 'pro',
        statePath: 'f.json',
      },
      json: true,
      help: false,
    });
    expect(parseCloudflareEmulatorArgs(['--help']).help).toBe(true);
  });

  it('lists every problem with the usage', () => {
    expect(() =>
      parseCloudflareEmulatorArgs(['--port', 'x', '--plan', 'business', '--bogus', '--state']),
    ).toThrow(
      /--port must be a port number[\s\S]*--plan must be free or pro[\s\S]*unknown argument "--bogus"[\s\S]*--state needs a value[\s\S]*usage:/,
    );
  });
});

describe('exposure warning', () => {
  it('warns when the control API is reachable beyond loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(hostWarning(host), host).toBeNull();
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'emulator.internal', '']) {
      expect(hostWarning(host), host).toMatch(
        /^warning: listening on .* — \/__emulator\/ is unauthenticated and hands out the API token/,
      );
    }
  });
});

describe('the command', () => {
  it('prints one JSON line, serves until SIGTERM, and persists state across restarts', async () => {
    const statePath = join(dir, 'state.json');
    const script = join(dir, 'run.mts');
    const cli = pathToFileURL(join(repoRoot, 'src/emulators/cloudflare/cli.ts')).href;
    writeFileSync(
      script,
      `import { runCloudflareEmulatorCommand } from ${JSON.stringify(cli)};\nawait runCloudflareEmulatorCommand(process.argv.slice(2));\n`,
    );
    const token = 'T'.repeat(40);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        script,
        '--port',
        '0',
        '--json',
        '--zone',
        'demo.test',
        '--plan',
        'pro',
        '--token',
        token,
        '--state',
        statePath,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const info = JSON.parse(firstLine) as {
      url: string;
      accountId: string;
      zoneId: string;
      zoneName: string;
      token: string;
    };
    expect(Object.keys(info)).toEqual(['url', 'accountId', 'zoneId', 'zoneName', 'token']);
    expect(info).toMatchObject({ zoneName: 'demo.test', token });
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/);

    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${info.url}/accounts/${info.accountId}/cfd_tunnel`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'kept' }),
    });
    expect(created.status).toBe(200);
    const zone = (await (await fetch(`${info.url}/zones/${info.zoneId}`, { headers })).json()) as {
      result: { plan: { legacy_id: string } };
    };
    expect(zone.result.plan.legacy_id).toBe('pro');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { tunnels: Array<{ name: string }> };
    expect(saved.tunnels.map((t) => t.name)).toEqual(['kept']);

    const again = await startCloudflareEmulator({ statePath });
    try {
      expect({
        accountId: again.accountId,
        zoneId: again.zoneId,
        zoneName: again.zoneName,
        token: again.token,
      }).toEqual({
        accountId: info.accountId,
        zoneId: info.zoneId,
        zoneName: 'demo.test',
        token,
      });
      const list = (await (
        await fetch(`${again.url}/accounts/${again.accountId}/cfd_tunnel`, { headers })
      ).json()) as { result: Array<{ name: string }> };
      expect(list.result.map((t) => t.name)).toEqual(['kept']);
      await fetch(`${again.url}/accounts/${again.accountId}/cfd_tunnel`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'second' }),
      });
    } finally {
      await again.close();
    }
    const final = JSON.parse(readFileSync(statePath, 'utf8')) as { tunnels: Array<{ name: string }> };
    expect(final.tunnels.map((t) => t.name)).toEqual(['kept', 'second']);
  });

  it('fails at start on a corrupt state file or bad options', async () => {
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"hello":1}');
    await expect(startCloudflareEmulator({ statePath: corrupt })).rejects.toThrow(
      /cannot load emulator state/,
    );
    await expect(startCloudflareEmulator({ zoneId: 'xyz', plan: 'gold' as never })).rejects.toThrow(
      /zoneId must be 32[\s\S]*plan must be free or pro/,
    );
  });
});
