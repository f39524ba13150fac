/**
 * Who is an operator: the one place the operator-only routes ask (`requireOperator`). The
 * system `operator` role is granted by `herald roles grant` (or HERALD_INITIAL_OPERATOR);
 * OPERATOR_CHECK's provider in app.module.ts asks SystemRoles. A check that fails (the
 * store unreachable) refuses: the routes fail closed.
 */
import type { AccessClaims } from '@herald/identity';
import { EdgeError } from '@herald/nest';

/** Whether the user holds the system `operator` role now. */
export type OperatorCheck = (userId: string) => Promise<boolean>;

export const OPERATOR_CHECK = Symbol('OperatorCheck');

export class OperatorRequired extends EdgeError {
  readonly code = 'OPERATOR.REQUIRED';
  constructor() {
    super('Only operators may do this');
  }
}

/** Throws OperatorRequired (403) unless the caller is an operator; a check that fails refuses too. */
export async function requireOperator(check: OperatorCheck, caller: AccessClaims): Promise<void> {
  const allowed = await check(caller.userId).catch(() => false);
  if (allowed !== true) throw new OperatorRequired();
}
