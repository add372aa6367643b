import { randomUUID } from 'node:crypto';
import { Logger } from 'pino';
import { System } from '../../system';
import { RequestMeta } from '../context';
import { registerUser } from './account';
import { ownerOf } from '../claims';
import { normaliseEmail } from '../../events/claim';

const systemMeta = (): RequestMeta => ({ correlationId: randomUUID(), ip: null, userAgent: 'admin-bootstrap', actorId: null });

/**
 * Creates the first admin from ADMIN_EMAIL + ADMIN_PASSWORD when that address has no account.
 * There is no default account: with neither set, nothing happens.
 */
export async function bootstrapAdmin(system: System, log: Logger): Promise<void> {
  const { adminEmail, adminPassword } = system.config;
  if (!adminEmail || !adminPassword || !system.services) return;
  const r = await createAdmin(system, adminEmail, adminPassword);
  log.info({ email: adminEmail, created: r.outcome === 'created' }, r.outcome === 'created' ? 'admin account created' : 'admin account already exists');
}

export async function createAdmin(system: System, email: string, password: string): Promise<{ outcome: 'created' | 'existing' }> {
  if (!system.services) throw new Error('createAdmin needs the api role');
  // Checked first so a restart does not send the owner a "someone tried to register" email.
  if (await ownerOf(system.store, 'email', normaliseEmail(email))) return { outcome: 'existing' };
  return registerUser(
    system.services.cmd,
    { email, password, username: null, firstName: null, lastName: null, name: 'Administrator', profile: null, role: 'admin', verified: true },
    systemMeta(),
  );
}
