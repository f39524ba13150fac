/**
 * Who a command line acts as, recorded in what it writes: `cli:<os user>` (the account that
 * ran it, which can reach the database), or, with `--as`, an operator's user id.
 */
import { userInfo } from 'node:os';

export function cliActor(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    // A uid without a passwd entry (a container): named by its number.
    name = String(process.getuid?.() ?? 'unknown');
  }
  return `cli:${name}`.slice(0, 200);
}
