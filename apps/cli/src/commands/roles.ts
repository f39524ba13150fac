/**
 * `herald roles grant|revoke <user> <role>` and `herald roles show <user>`: the system roles
 * (auditor, operator), each change an event in the user's stream with who made it: the OS
 * user running the command (`cli:<name>`), or with `--as <operator>` that operator's user id
 * (who must hold the operator role). The users' streams are in the event store Herald is
 * configured with (EVENT_STORE), so the roles are written where the API reads them.
 */
import { IdentityError, isSystemRole, SYSTEM_ROLES, SystemRoles, type SystemRole } from '@herald/identity';
import { Argument, type Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { CliError, EXIT } from '../cli-error.js';
import { withEventStore } from '../database.js';
import { cliActor } from './actor.js';

const role = () => new Argument('<role>', 'the system role').choices(SYSTEM_ROLES);
const user = () => new Argument('<user>', 'the user: their user name or user id');

export function registerRoles(program: Command): void {
  const roles = program.command('roles').description('Grant, revoke and show system roles (auditor, operator)');
  roles
    .command('grant')
    .description('Give a user a system role (nothing is written when they hold it already)')
    .addArgument(user())
    .addArgument(role())
    .option('--as <operator>', 'record the change as made by this operator (user name or id) instead of the OS user')
    .action(async (who: string, name: string, options: { as?: string }) => change('grant', who, name, options.as));
  roles
    .command('revoke')
    .description('Take a system role from a user (nothing is written when they do not hold it)')
    .addArgument(user())
    .addArgument(role())
    .option('--as <operator>', 'record the change as made by this operator (user name or id) instead of the OS user')
    .action(async (who: string, name: string, options: { as?: string }) => change('revoke', who, name, options.as));
  roles
    .command('show')
    .description("Print a user's system roles, one a line")
    .addArgument(user())
    .action(async (who: string) =>
      withRoles(async (system) => {
        const { userId } = await system.resolve(who);
        for (const held of await system.rolesOf(userId)) process.stdout.write(`${held}\n`);
      }),
    );
}

async function withRoles<T>(work: (roles: SystemRoles) => Promise<T>): Promise<T> {
  return withEventStore(
    async (store) => {
      try {
        return await work(new SystemRoles(store));
      } catch (error) {
        if (error instanceof IdentityError) throw new CliError(error.message, EXIT.failed);
        throw error;
      }
    },
    (line) => process.stderr.write(`${line}\n`),
  );
}

async function change(kind: 'grant' | 'revoke', who: string, name: string, as: string | undefined): Promise<void> {
  if (!isSystemRole(name)) throw new CliError(`unknown role ${name}`, EXIT.usage);
  const systemRole: SystemRole = name;
  await withRoles(async (roles) => {
    const target = await roles.resolve(who);
    let actorId = cliActor();
    if (as !== undefined) {
      const operator = await roles.resolve(as);
      if (!(await roles.hasSystemRole(operator.userId, 'operator'))) {
        throw new CliError(`--as ${as}: ${operator.username} is not an operator`, EXIT.failed);
      }
      actorId = operator.userId;
    }
    const context = { actorId, correlationId: randomUUID(), now: new Date() };
    const changed =
      kind === 'grant'
        ? await roles.grant(target.userId, systemRole, context)
        : await roles.revoke(target.userId, systemRole, context);
    const verb = kind === 'grant' ? 'granted' : 'revoked';
    process.stdout.write(
      changed
        ? `${verb} ${systemRole} ${kind === 'grant' ? 'to' : 'from'} ${target.username} (${target.userId}) as ${actorId}\n`
        : `${target.username} (${target.userId}) ${kind === 'grant' ? 'holds it already' : 'does not hold it'}: nothing written\n`,
    );
  });
}
