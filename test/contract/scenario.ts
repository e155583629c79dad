/**
 * A contract scenario: requests a client makes, in order, against one server. The same scenario
 * runs on the real server and on the fake; what each writes down must be equal.
 */
import { recorder, type Answer, type CallOptions, type Observation, type Recorder } from './observe.js';
import type { Target } from './targets.js';

export interface Session {
  readonly target: Target;
  /** The scenario's user, another user, and an admin: its own, on both servers. */
  readonly user: string;
  readonly other: string;
  readonly admin: string;
  alias: Recorder['alias'];
  call(method: string, path: string, opts?: CallOptions): Promise<Answer>;
  /** Polls GET `path` (unrecorded) until `done`, then records one last GET. */
  until(path: string, done: (a: Answer) => boolean, opts?: CallOptions): Promise<Answer>;
  /** A tunnel name of this scenario's own (names are unique across a server). */
  name(base: string): string;
}

export interface Scenario {
  name: string;
  run(s: Session): Promise<void>;
}

/** Runs scenario number `n` on `target`; returns what it observed. */
export async function play(target: Target, scenario: Scenario, n: number): Promise<Observation[]> {
  const users = { [`ctr${n}user`]: '<user>', [`ctr${n}other`]: '<other>', [`ctr${n}admin`]: '<admin>' };
  const [user, other, admin] = Object.keys(users) as [string, string, string];
  await target.addUser(user);
  await target.addUser(other);
  await target.addUser(admin, 'admin');
  const r = recorder(target, users);
  const session: Session = {
    target,
    user,
    other,
    admin,
    alias: r.alias,
    call: r.call,
    async until(path, done, opts = {}) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await r.call('GET', path, { ...opts, unrecorded: true });
        if (done(res)) break;
        if (Date.now() > deadline)
          throw new Error(`${target.kind}: GET ${path} never got there: ${res.text}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return r.call('GET', path, opts);
    },
    name: (base) => `${base}-c${n}`,
  };
  try {
    await scenario.run(session);
  } finally {
    await target.afterScenario();
  }
  return r.observations();
}
