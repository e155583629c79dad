/** Who is signed in, the client they use, and what pages call when the session ends under them. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { TunnelplaneClient, User } from '../../src/client/index.js';

export interface SessionState {
  user: User;
  client: TunnelplaneClient;
  /** Called with the error when an API call finds the session gone: the console shows sign-in. */
  ended(err: unknown): void;
  /** Reads the user again (quotas, usage). */
  refreshUser(): void;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}
