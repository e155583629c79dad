/** Who a request acts as: the authenticated user. */
import type { UserRow } from '../store/index.js';

export interface Actor {
  user: UserRow;
}
