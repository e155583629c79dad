/**
 * The web console's first page: the bytes a browser transfers for it (HTML, JavaScript, CSS,
 * icon; gzip as the server sends them), the JavaScript alone gzipped (the budget is 150 KiB), and
 * its load time in Debian's Chromium — navigation to the sign-in form ready to type in, each in a
 * fresh browser context (no cache) — beside the `/healthz` round trip of the same server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { note, round } from './report.js';
import { REPO_DIR, startBenchStack } from './stack.js';

const CHROMIUM = '/usr/bin/chromium';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function consoleBenchmark(o: { full: boolean }) {
  execFileSync(process.execPath, [join(REPO_DIR, 'scripts', 'build-web.mjs'), '--if-stale'], {
    cwd: REPO_DIR,
  });
  const loads = o.full ? 30 : 10;
  const stack = await startBenchStack({ reconciler: false });
  try {
    const health: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await (await fetch(`${stack.url}/healthz`)).text();
      health.push(performance.now() - t);
    }

    if (!existsSync(CHROMIUM)) {
      note(`\nconsole: skipped the browser: ${CHROMIUM} is missing (apt-get install chromium)`);
      return { skipped: `${CHROMIUM} missing`, healthzMs: round(median(health), 2) };
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    const times: number[] = [];
    let bytes = 0;
    let jsBytes = 0;
    let requests = 0;
    try {
      for (let i = 0; i < loads; i++) {
        const context = await browser.newContext();
        const page = await context.newPage();
        const sizes: Array<Promise<{ url: string; size: number }>> = [];
        page.on('requestfinished', (r) =>
          sizes.push(
            r.sizes().then((s) => ({ url: r.url(), size: s.responseBodySize + s.responseHeadersSize })),
          ),
        );
        const t = performance.now();
        await page.goto(`${stack.url}/`);
        await page.getByLabel('Password').waitFor();
        times.push(performance.now() - t);
        const all = await Promise.all(sizes);
        bytes = all.reduce((n, s) => n + s.size, 0);
        jsBytes = all.filter((s) => s.url.endsWith('.js')).reduce((n, s) => n + s.size, 0);
        requests = all.length;
        await context.close();
      }
    } finally {
      await browser.close();
    }
    const result = {
      loads,
      requests,
      transferredKiB: round(bytes / 1024, 1),
      javascriptKiB: round(jsBytes / 1024, 1),
      loadMsMedian: round(median(times), 1),
      loadMsMax: round(Math.max(...times), 1),
      healthzMsMedian: round(median(health), 2),
    };
    note(
      `\nconsole: first page (sign-in), ${loads} cold loads in Chromium\n` +
        `  transferred ${result.transferredKiB} KiB in ${requests} requests (JavaScript ${result.javascriptKiB} KiB, budget 150 KiB)\n` +
        `  load to sign-in form: median ${result.loadMsMedian} ms, max ${result.loadMsMax} ms; /healthz round trip median ${result.healthzMsMedian} ms`,
    );
    return result;
  } finally {
    await stack.stop();
  }
}
