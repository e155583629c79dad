// Persistence for `--state FILE`: the state is loaded once at start and rewritten after
// changes (debounced) and on close. Writes go to a temporary file that is renamed over the
// target, so a crash never leaves half a file behind.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseState, type EmulatorState } from './state.js';

export interface StateFile {
  /** The saved state, or undefined when the file does not exist yet. */
  load(): EmulatorState | undefined;
  /** Schedules a write of `read()` after the debounce delay. */
  schedule(): void;
  /** Writes now if a write is pending (or `force`), and cancels the timer. */
  flush(force?: boolean): void;
}

export function createStateFile(path: string, read: () => EmulatorState, debounceMs = 100): StateFile {
  let timer: NodeJS.Timeout | undefined;

  const write = () => {
    timer = undefined;
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(read(), null, 2)}\n`);
    renameSync(temporary, path);
  };

  return {
    load() {
      if (!existsSync(path)) return undefined;
      try {
        return parseState(readFileSync(path, 'utf8'));
      } catch (error) {
        throw new Error(`cannot load emulator state from ${path}: ${(error as Error).message}`);
      }
    },
    schedule() {
      if (timer) return;
      timer = setTimeout(write, debounceMs);
      timer.unref();
    },
    flush(force = false) {
      const pending = timer !== undefined;
      if (timer) clearTimeout(timer);
      if (pending || force) write();
    },
  };
}
