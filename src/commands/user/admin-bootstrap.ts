import { randomUUID } from 'node:crypto';
import { Logger } from 'pino';
import { CommandContext, RequestMeta } from '../context';
import { registerUser } from './account';
import { ownerOf } from '../claims';
import { normaliseEmail } from '../../events/claim';

const systemMeta = (): RequestMeta => ({ correlationId: randomUUID(), ip: null, userAgent: 'admin-bootstrap', actorId: null });

/**
 * Creates an admin account (verified) unless the address already has an account.
 * There is no default account: the first admin comes from ADMIN_EMAIL + ADMIN_PASSWORD at start
 * or from `npm run admin:create`.
 */
export async function createAdmin(cmd: CommandContext, email: string, password: string): Promise<{ outcome: 'created' | 'existing' }> {
  // Checked first so a restart does not send the owner a "someone tried to register" email.
  if (await ownerOf(cmd.store, 'email', normaliseEmail(email))) return { outcome: 'existing' };
  return registerUser(
    cmd,
    {
      email,
      password,
      username: null,
      firstName: null,
      lastName: null,
      name: 'Administrator',
      profile: null,
      role: 'admin',
      verified: true,
    },
    systemMeta(),
  );
}

export async function bootstrapAdmin(cmd: CommandContext, log: Logger): Promise<void> {
  const { adminEmail, adminPassword } = cmd.config;
  if (!adminEmail || !adminPassword) return;
  const r = await createAdmin(cmd, adminEmail, adminPassword);
  log.info(
    { email: adminEmail, created: r.outcome === 'created' },
    r.outcome === 'created' ? 'admin account created' : 'admin account already exists',
  );
}
