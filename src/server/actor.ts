/** Who a request acts as: the authenticated user, the teams they act for, and what their credential may do. */
import type { Scope } from '../domain/scopes.js';
import type { TeamRef, UserRow } from '../store/index.js';

export interface Actor {
  user: UserRow;
  /** Teams whose tunnels the user sees and manages (none when not given). */
  teams?: TeamRef[];
  /** The credential's scopes and expiry (a token it makes cannot exceed them); all rights when not given. */
  scopes?: Scope[];
  expiresAt?: string | null;
  /** How the request authenticated (a session's password change signs the others out). */
  sessionHash?: string;
}

/** The owners whose tunnels the actor sees: themselves and their teams. */
export const ownersOf = (actor: Actor): string[] => [actor.user.id, ...(actor.teams ?? []).map((t) => t.id)];
