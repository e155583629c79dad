/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and
 * self time per package (node_modules/<pkg>, the project's own files, Node internals).
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';
import { printTable, round } from './report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0)
    return `tunnelplane ${url
      .slice(src + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 25): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const idleIds = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
  );
  const idle = [...idleIds].reduce((a, id) => a + (selfUs.get(id) ?? 0), 0);

  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (idleIds.has(id)) continue;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url ? `${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => round((100 * us) / busy, 1);
  process.stdout.write(
    `\n${file}: ${round(total / 1e6, 1)} s profiled, ${round(busy / 1e6, 1)} s busy (${round((100 * busy) / total, 0)} %)\n`,
  );
  printTable(
    `Top ${top} functions by self time (% of busy time)`,
    [...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ '%': pct(us), ms: round(us / 1000, 0), function: fn })),
  );
  printTable(
    'Self time by package (% of busy time)',
    [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([pkg, us]) => ({ '%': pct(us), ms: round(us / 1000, 0), package: pkg })),
  );
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  summarizeProfile(file, Number(process.argv[3] ?? 25));
}
