/**
 * A Dockerfile performed without a Docker engine, for tests: every stage gets a scratch folder
 * standing for its file system; WORKDIR, ENV and USER are kept as the image's settings, COPY
 * copies exactly the files it names (from the build context, or `--from=<stage>`), RUN runs its
 * command with bash in the stage's working directory on this machine's Node.js (which must be
 * the base image's major version). Instructions it does not know fail the build, so the test
 * never silently diverges from what Docker would do.
 *
 * RUN layers are cached as Docker caches them: keyed by the chain of instructions before them
 * and the content of every file their COPYs brought in; a hit restores the stage's files as
 * the command left them (packages as hard links into the cache: see `restoreLayer`). The cache
 * lives in `~/.cache/tunnelplane-image-build` (`$XDG_CACHE_HOME`, or `cacheDir`), beside npm's
 * own cache and outside node_modules, so `npm ci` does not wipe it; entries no build used for
 * an hour are removed.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, relative } from 'node:path';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** What the image's last stage declares about running it. */
export interface ImageConfig {
  env: Record<string, string>;
  workdir: string;
  user: string | undefined;
  expose: string[];
  entrypoint: string[];
  cmd: string[];
}

export interface BuiltImage {
  /** The last stage's file system. */
  root: string;
  config: ImageConfig;
  /** One line per step: instruction, and `cached` or the seconds it took. */
  log: string[];
}

const KNOWN = ['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'ENTRYPOINT', 'CMD'];

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ') + (lines[++i] ?? '').trim();
    }
    const match = /^\s*(\S+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile:${start}: cannot parse ${JSON.stringify(line)}`);
    const op = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').trim();
    if (!KNOWN.includes(op)) throw new Error(`Dockerfile:${start}: ${op} is not performed by this test`);
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile:${start}: cannot parse FROM ${args}`);
      stages.push({ from: from[1] ?? '', name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile:${start}: ${op} before FROM`);
    stage.instructions.push({ op, args, line: start });
  }
  return stages;
}

/** `["a", "b"]` (exec form) or `a b` (shell form, run by /bin/sh -c). */
function commandOf(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return ['/bin/sh', '-c', args];
}

function envOf(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = m[2] ?? '';
    out[m[1] ?? ''] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  if (Object.keys(out).length === 0) {
    const [key, ...rest] = args.split(/\s+/);
    out[key ?? ''] = rest.join(' ');
  }
  return out;
}

/** The environment the image's last (runtime) stage sets with its ENV lines, in order. */
export function runtimeEnvironment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of parseDockerfile(text).at(-1)?.instructions ?? [])
    if (ins.op === 'ENV') Object.assign(env, envOf(ins.args));
  return env;
}

/** `.dockerignore` entries: only plain top-level names are understood here; anything else fails. */
function readIgnore(context: string): Set<string> {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return new Set();
  const names = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const n of names)
    if (!/^[\w.-]+\/?$/.test(n)) throw new Error(`.dockerignore: ${n}: only top-level names are performed`);
  return new Set(names.map((n) => n.replace(/\/$/, '')));
}

/** `cp -a`; `link`: hard links instead of copies, for a source nothing writes to any more. */
function cp(from: string, to: string, link = false): void {
  const dir = statSync(from).isDirectory();
  mkdirSync(dir ? to : join(to, '..'), { recursive: true });
  const args = [dir ? `${from}/.` : from, to];
  let r = spawnSync('cp', [link ? '-al' : '-a', ...args], { encoding: 'utf8' });
  // Hard links need one file system; across two, copy.
  if (r.status !== 0 && link) r = spawnSync('cp', ['-a', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp ${from} ${to}: ${r.stderr}`);
}

/** Every regular file under `dir` (relative path → size and mtime), symbolic links not followed. */
function fileStamps(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = lstatSync(join(dir, rel));
    if (st.isFile()) out[rel] = `${st.size}:${st.mtimeMs}`;
  }
  return out;
}

/**
 * A layer put back as hard links to the cache (a copy of a dependency tree is the slow part
 * of a cached build), except the files a later step may rewrite in place: those outside any
 * `node_modules` and those directly in one (npm's hidden lockfile). Package files are replaced,
 * never edited, by package managers; `layerIntact` checks that at the end of the build.
 */
function restoreLayer(cached: string, root: string): void {
  rmSync(root, { recursive: true, force: true });
  cp(join(cached, 'fs'), root, true);
  for (const rel of Object.keys(fileStamps(root))) {
    const parts = rel.split('/');
    const at = parts.indexOf('node_modules');
    if (at >= 0 && at < parts.length - 2) continue;
    const path = join(root, rel);
    const copy = `${path}.unshared`;
    copyFileSync(path, copy);
    const st = statSync(path);
    chmodSync(copy, st.mode);
    utimesSync(copy, st.atime, st.mtime);
    renameSync(copy, path);
  }
}

/** False when a file of the cached layer changed after it was saved (written through a link). */
function layerIntact(cached: string): boolean {
  const saved = JSON.parse(readFileSync(join(cached, 'stamps.json'), 'utf8')) as Record<string, string>;
  const now = fileStamps(join(cached, 'fs'));
  return (
    Object.keys(saved).length === Object.keys(now).length &&
    Object.entries(saved).every(([k, v]) => now[k] === v)
  );
}

function hashTree(hash: ReturnType<typeof createHash>, path: string, base: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const entry of readdirSync(path).sort()) hashTree(hash, join(path, entry), base);
    return;
  }
  hash.update(`${relative(base, path)}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
  hash.update(readFileSync(path));
  hash.update('\0');
}

export interface BuildOptions {
  dockerfile: string;
  context: string;
  /** Scratch folder: one subfolder per stage. */
  scratch: string;
  cacheDir?: string;
  /** Extra environment for RUN (the npm cache, say). */
  env?: Record<string, string>;
  /**
   * Which RUN layers to cache (default: all). Saving one costs a copy of the stage's files, so a
   * test may keep only those whose inputs rarely change (the dependencies).
   */
  cacheRun?: (command: string) => boolean;
}

export function buildImage(opts: BuildOptions): BuiltImage {
  const stages = parseDockerfile(readFileSync(opts.dockerfile, 'utf8'));
  const cacheDir =
    opts.cacheDir ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tunnelplane-image-build');
  mkdirSync(cacheDir, { recursive: true });
  const ignored = readIgnore(opts.context);
  const used = new Set<string>();
  const restored: string[] = [];
  const roots = new Map<string, string>();
  const log: string[] = [];
  let config: ImageConfig | undefined;

  stages.forEach((stage, index) => {
    const node = /^node:(\d+)[-.@]/.exec(stage.from);
    if (!node || `v${node[1]}` !== process.version.split('.')[0])
      throw new Error(`FROM ${stage.from}: this machine runs Node.js ${process.version}`);
    const root = join(opts.scratch, `stage-${index}`);
    mkdirSync(root, { recursive: true });
    roots.set(String(index), root);
    if (stage.name) roots.set(stage.name, root);
    const cfg: ImageConfig = { env: {}, workdir: '/', user: undefined, expose: [], entrypoint: [], cmd: [] };
    let key = createHash('sha256').update(`FROM ${stage.from} ${process.version}`).digest('hex');
    const inside = (p: string) => join(root, p.startsWith('/') ? p : join(cfg.workdir, p));

    for (const ins of stage.instructions) {
      const t0 = Date.now();
      const hash = createHash('sha256').update(`${key}\n${ins.op} ${ins.args}`);
      switch (ins.op) {
        case 'WORKDIR':
          cfg.workdir = ins.args.startsWith('/') ? ins.args : join(cfg.workdir, ins.args);
          mkdirSync(inside(cfg.workdir), { recursive: true });
          break;
        case 'ENV':
          Object.assign(cfg.env, envOf(ins.args));
          break;
        case 'USER':
          cfg.user = ins.args;
          break;
        case 'EXPOSE':
          cfg.expose.push(...ins.args.split(/\s+/));
          break;
        case 'ENTRYPOINT':
          cfg.entrypoint = commandOf(ins.args);
          break;
        case 'CMD':
          cfg.cmd = commandOf(ins.args);
          break;
        case 'COPY': {
          const words = ins.args.split(/\s+/);
          const flags = words.filter((w) => w.startsWith('--'));
          const paths = words.filter((w) => !w.startsWith('--'));
          const fromFlag = flags.find((f) => f.startsWith('--from='));
          const other = flags.filter((f) => f !== fromFlag);
          if (other.length > 0)
            throw new Error(`Dockerfile:${ins.line}: COPY ${other.join(' ')} is not performed`);
          const dest = paths.pop() ?? '';
          if (paths.length === 0) throw new Error(`Dockerfile:${ins.line}: COPY without a source`);
          const fromRoot = fromFlag ? roots.get(fromFlag.slice('--from='.length)) : undefined;
          if (fromFlag && !fromRoot) throw new Error(`Dockerfile:${ins.line}: no stage ${fromFlag}`);
          const intoDir = dest.endsWith('/') || paths.length > 1;
          for (const src of paths) {
            if (/[*?[]/.test(src) || src === '.' || src.startsWith('..'))
              throw new Error(`Dockerfile:${ins.line}: COPY ${src}: only plain paths are performed`);
            const clean = src.replace(/^\.\//, '').replace(/\/$/, '');
            if (!fromRoot && ignored.has(clean.split('/')[0] ?? ''))
              throw new Error(`Dockerfile:${ins.line}: COPY ${src} is excluded by .dockerignore`);
            const from = fromRoot ? join(fromRoot, src) : join(opts.context, clean);
            if (!existsSync(from)) throw new Error(`Dockerfile:${ins.line}: COPY ${src}: no such file`);
            hashTree(hash, from, fromRoot ?? opts.context);
            const to =
              statSync(from).isDirectory() || !intoDir ? inside(dest) : join(inside(dest), basename(from));
            // An earlier stage is finished (nothing writes to it): its files are linked, not copied.
            cp(from, to, fromRoot !== undefined);
          }
          break;
        }
        case 'RUN': {
          const layer = hash.digest('hex');
          key = layer;
          used.add(layer);
          const cached = join(cacheDir, layer);
          if (existsSync(join(cached, '.complete'))) {
            restoreLayer(cached, root);
            restored.push(cached);
            utimesSync(cached, new Date(), new Date());
            log.push(`RUN ${ins.args}: cached (restored in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
            continue;
          }
          const run = spawnSync('bash', ['-c', ins.args], {
            cwd: inside(cfg.workdir),
            // A base image's environment is PATH and HOME, not the test runner's (NODE_ENV=test…).
            env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env, ...cfg.env },
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024,
          });
          if (run.status !== 0)
            throw new Error(
              `Dockerfile:${ins.line}: RUN ${ins.args} exited ${run.status}\n${run.stdout}\n${run.stderr}`,
            );
          log.push(`RUN ${ins.args}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          if (opts.cacheRun && !opts.cacheRun(ins.args)) continue;
          // Written aside and renamed: a concurrent build never restores half a layer.
          const partial = `${cached}.${process.pid}.partial`;
          cp(root, join(partial, 'fs'));
          writeFileSync(join(partial, 'stamps.json'), JSON.stringify(fileStamps(join(partial, 'fs'))));
          writeFileSync(join(partial, '.complete'), '');
          rmSync(cached, { recursive: true, force: true });
          try {
            renameSync(partial, cached);
          } catch {
            rmSync(partial, { recursive: true, force: true });
          }
          continue;
        }
      }
      key = hash.digest('hex');
      if (ins.op === 'COPY') log.push(`COPY ${ins.args}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    config = cfg;
  });
  // A layer some step wrote into through a link is no longer what its key says: dropped.
  for (const cached of restored) if (!layerIntact(cached)) rmSync(cached, { recursive: true, force: true });
  // Stale layers go; recent ones may belong to a build running beside this one.
  for (const entry of readdirSync(cacheDir)) {
    const path = join(cacheDir, entry);
    if (!used.has(entry) && Date.now() - statSync(path).mtimeMs > 3600_000)
      rmSync(path, { recursive: true, force: true });
  }
  if (!config) throw new Error('Dockerfile: no stage');
  return { root: roots.get(String(stages.length - 1)) ?? '', config, log };
}
