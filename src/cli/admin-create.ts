import Redis from 'ioredis';
import { passwordProblem } from '../commands/password-policy';
import { createAdmin } from '../commands/user/admin-bootstrap';
import { PostgresEventStore } from '../eventstore/postgres';
import { AccessTokens } from '../infra/jwt';
import { PasswordHasher } from '../infra/password-hasher';
import { LoginThrottle } from '../infra/rate-limits';
import { RevocationList } from '../infra/revocations';
import { createEventStore } from '../system';
import { cliEnv, runCli, wantsHelp } from './common';

const HELP = `Usage: npm run admin:create -- --email EMAIL --password PASSWORD

Creates a verified admin account, unless the email already has an account.
The password may also come from the ADMIN_PASSWORD environment variable (keeps it out of shell history).`;

const arg = (argv: string[], name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(HELP);
    return;
  }
  const email = arg(argv, '--email');
  const password = arg(argv, '--password') ?? process.env.ADMIN_PASSWORD;
  if (!email || !password) {
    console.error(`--email and --password are required.\n\n${HELP}`);
    process.exit(2);
  }
  const problem = passwordProblem(password, 'The password');
  if (problem) {
    console.error(`${problem}.`);
    process.exit(2);
  }
  const { config, cleanup } = await cliEnv();
  const store = createEventStore(config, config.databaseUrl);
  // Never used by account creation; lazy so the command needs no Redis.
  const redis = new Redis(config.redisUrl, { lazyConnect: true });
  const hasher = new PasswordHasher(config.bcryptCost, 1);
  try {
    if (store instanceof PostgresEventStore) await store.migrate();
    const r = await createAdmin(
      {
        config,
        store,
        hasher,
        revocations: new RevocationList(redis, config.redisPrefix, 60),
        accessTokens: new AccessTokens(config.jwt),
        loginThrottle: new LoginThrottle(redis, config.redisPrefix, config.rateLimits.loginFailures),
        clock: () => new Date(),
      },
      email,
      password,
    );
    console.log(r.outcome === 'created' ? `Admin ${email} created.` : `${email} already has an account; nothing changed.`);
  } finally {
    await hasher.close();
    await store.close();
    redis.disconnect();
    await cleanup();
  }
}

runCli(main);
