import * as yup from 'yup';

/** How log lines are written: JSON lines, or readable ones (pino-pretty). */
export type LogFormat = 'json' | 'pretty';

/** Every setting the service reads, parsed and validated once at start. */
export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** PostgreSQL for read models (and the event store unless EVENTSTORE_URL is set). Null: embedded. */
  databaseUrl: string | null;
  eventStoreUrl: string | null;
  redisUrl: string;
  /** Prefix of every Redis key and BullMQ queue, so several deployments (or test files) share one Redis. */
  redisPrefix: string;
  dataDir: string;
  appBaseUrl: string;
  /** Where the password-reset link points: a page of yours, or the built-in one at /reset-password. */
  resetPasswordUrl: string;
  productName: string;
  smtpUrl: string | null;
  mailFrom: string;
  requireEmailVerification: boolean;
  bcryptCost: number;
  /** Nice value of the password-hashing threads: the event loop and the databases go first. */
  passwordHashNice: number;
  jwt: {
    secret: string;
    algorithm: 'HS256' | 'HS384' | 'HS512';
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  /** Key for the HMACs that derive one-time tokens (verification, reset) from event ids. */
  tokenSecret: string;
  session: {
    maxPerUser: number;
    absoluteTtlSeconds: number;
    idleTtlSeconds: number;
    refreshGraceSeconds: number;
  };
  verificationTtlSeconds: number;
  resetTtlSeconds: number;
  readYourWritesTimeoutMs: number;
  projectionBatchSize: number;
  /** API processes forked by `all`/`api` (node:cluster, sharing the port); 1 = in this process. */
  apiProcesses: number;
  /** Connections per pool (read models, event store); each process has one of each. */
  dbPoolMax: number;
  logLevel: string;
  /** LOG_FORMAT; null: readable on a terminal in development, JSON otherwise (src/infra/logger.ts). */
  logFormat: LogFormat | null;
  /** Take the client IP from X-Forwarded-For, as added by this many proxies in front (0: never). */
  trustProxy: boolean;
  proxyHops: number;
  /** Origins (scheme://host[:port]) allowed to call the API from a browser, with credentials. */
  corsOrigins: string[];
  rateLimits: RateLimits;
  /** When set, GET /metrics wants `Authorization: Bearer <METRICS_TOKEN>`. */
  metricsToken: string | null;
  adminEmail: string | null;
  adminPassword: string | null;
}

/** `points` requests per `durationSeconds`, counted in fixed windows in Redis. */
export interface Rate {
  points: number;
  durationSeconds: number;
}

export interface RateLimits {
  /** Sign-in attempts (any outcome) from one IP. */
  loginPerIp: Rate;
  registerPerIp: Rate;
  refreshPerIp: Rate;
  /** Requests that send an email (registration, verification resend, forgot-password) from one IP. */
  emailPerIp: Rate;
  /** Emails to one address; past this the request answers the same but sends nothing. */
  emailPerAddress: Rate;
  /** Failed sign-ins per account, whatever the IP. */
  loginFailures: {
    /** Consecutive failures that lock the account for `lockSeconds`. */
    lockAfter: number;
    lockSeconds: number;
    /** Consecutive failures that lock it for `longLockSeconds`. */
    longLockAfter: number;
    longLockSeconds: number;
    /** Failures in an hour, successful sign-ins or not, after which the account is locked for an hour. */
    maxPerHour: number;
  };
}

export type Env = Record<string, string | undefined>;

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

const bool = (v: string | undefined, dflt: boolean): boolean => (v === undefined || v === '' ? dflt : TRUE.includes(v.toLowerCase()));

/** A switch: a typo is an error, never a silent "off". */
const flag = (name: string) =>
  yup
    .string()
    .optional()
    .test(
      'boolean',
      `${name} must be one of ${[...TRUE, ...FALSE].join(', ')}`,
      (v) => v === undefined || v === '' || [...TRUE, ...FALSE].includes(v.toLowerCase()),
    );

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
const RATE = /^(\d{1,7})\s*\/\s*(\d{1,7})\s*([smhd]?)$/;

/** `"30/1m"`: 30 per minute; units s, m, h, d (none: seconds). */
export const parseRate = (v: string): Rate | null => {
  const m = RATE.exec(v.trim());
  if (!m) return null;
  const rate = { points: Number(m[1]), durationSeconds: Number(m[2]) * DURATION_UNITS[m[3]] };
  return rate.points >= 1 && rate.durationSeconds >= 1 ? rate : null;
};

const rate = (name: string, dflt: string) =>
  yup
    .string()
    .trim()
    .default(dflt)
    .test('rate', `${name} must be "<count>/<duration>", e.g. 30/1m (units s, m, h, d)`, (v) => parseRate(v) !== null);

/** An origin exactly as a browser sends it in `Origin`: scheme, host and port, nothing else. */
const isOrigin = (v: string): boolean => {
  try {
    const u = new URL(v);
    return ['http:', 'https:'].includes(u.protocol) && u.origin === v;
  } catch {
    return false;
  }
};

const originsOf = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);

const MAX_PROXY_HOPS = 10;

/** TRUST_PROXY: a switch (true means one proxy) or the number of proxies in front. */
const proxyHopsOf = (v: string | undefined): number => {
  if (v === undefined || v === '') return 0;
  if (/^\d+$/.test(v) && !TRUE.includes(v) && !FALSE.includes(v)) return Number(v);
  return TRUE.includes(v.toLowerCase()) ? 1 : 0;
};

const schema = yup.object({
  NODE_ENV: yup.string().oneOf(['development', 'production', 'test']).default('development'),
  PORT: yup.number().integer().min(0).max(65535).default(3000),
  HOST: yup.string().default('0.0.0.0'),
  DATABASE_URL: yup.string().trim().optional(),
  EVENTSTORE_URL: yup.string().trim().optional(),
  REDIS_URL: yup.string().trim().default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: yup
    .string()
    .matches(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('iam'),
  DATA_DIR: yup.string().default('.data'),
  APP_BASE_URL: yup
    .string()
    .trim()
    .optional()
    .test('http-url', 'APP_BASE_URL must be an http(s) URL', (v) => {
      if (v === undefined || v === '') return true;
      try {
        return ['http:', 'https:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }),
  RESET_PASSWORD_URL: yup.string().trim().optional(),
  PRODUCT_NAME: yup.string().default('Identity'),
  SMTP_URL: yup.string().trim().optional(),
  MAIL_FROM: yup.string().default('Identity <no-reply@localhost>'),
  REQUIRE_EMAIL_VERIFICATION: flag('REQUIRE_EMAIL_VERIFICATION'),
  BCRYPT_COST: yup.number().integer().min(4).max(15).default(12),
  PASSWORD_HASH_NICE: yup.number().integer().min(0).max(19).default(10),
  JWT_SECRET: yup.string().optional(),
  JWT_ALGORITHM: yup.string().oneOf(['HS256', 'HS384', 'HS512']).default('HS256'),
  JWT_ISSUER: yup.string().default('iam-es'),
  JWT_AUDIENCE: yup.string().default('iam-es'),
  ACCESS_TOKEN_TTL: yup.number().integer().min(30).max(86400).default(900),
  TOKEN_SECRET: yup.string().optional(),
  MAX_SESSIONS_PER_USER: yup.number().integer().min(1).max(1000).default(5),
  SESSION_ABSOLUTE_TTL: yup
    .number()
    .integer()
    .min(60)
    .default(30 * 24 * 3600),
  SESSION_IDLE_TTL: yup
    .number()
    .integer()
    .min(60)
    .default(7 * 24 * 3600),
  REFRESH_GRACE_SECONDS: yup.number().integer().min(0).max(300).default(10),
  VERIFICATION_TTL: yup
    .number()
    .integer()
    .min(60)
    .default(24 * 3600),
  RESET_TTL: yup
    .number()
    .integer()
    .min(60)
    .default(30 * 60),
  READ_YOUR_WRITES_TIMEOUT_MS: yup.number().integer().min(0).max(60000).default(5000),
  PROJECTION_BATCH_SIZE: yup.number().integer().min(1).max(10000).default(500),
  DB_POOL_MAX: yup.number().integer().min(1).max(200).default(10),
  API_PROCESSES: yup.number().integer().min(1).max(64).default(1),
  LOG_LEVEL: yup.string().oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: yup.string().oneOf(['json', 'pretty'], 'LOG_FORMAT must be json or pretty').optional(),
  TRUST_PROXY: yup
    .string()
    .optional()
    .test(
      'trust-proxy',
      `TRUST_PROXY must be one of ${[...TRUE, ...FALSE].join(', ')} or the number of proxies in front (1-${MAX_PROXY_HOPS})`,
      (v) =>
        v === undefined ||
        v === '' ||
        [...TRUE, ...FALSE].includes(v.toLowerCase()) ||
        (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_PROXY_HOPS),
    ),
  CORS_ORIGINS: yup
    .string()
    .optional()
    .test('origins', 'CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com (no path, no wildcard)', (v) =>
      originsOf(v).every(isOrigin),
    ),
  RATE_LIMIT_LOGIN_PER_IP: rate('RATE_LIMIT_LOGIN_PER_IP', '30/1m'),
  RATE_LIMIT_REGISTER_PER_IP: rate('RATE_LIMIT_REGISTER_PER_IP', '10/1h'),
  RATE_LIMIT_REFRESH_PER_IP: rate('RATE_LIMIT_REFRESH_PER_IP', '60/1m'),
  RATE_LIMIT_EMAIL_PER_IP: rate('RATE_LIMIT_EMAIL_PER_IP', '20/1h'),
  RATE_LIMIT_EMAIL_PER_ADDRESS: rate('RATE_LIMIT_EMAIL_PER_ADDRESS', '5/1h'),
  LOGIN_LOCK_AFTER_FAILURES: yup.number().integer().min(1).max(1000).default(5),
  LOGIN_LOCK_SECONDS: yup.number().integer().min(1).max(86400).default(60),
  LOGIN_LONG_LOCK_AFTER_FAILURES: yup
    .number()
    .integer()
    .min(2)
    .max(1000)
    .default(10)
    .test('after-short', 'LOGIN_LONG_LOCK_AFTER_FAILURES must be greater than LOGIN_LOCK_AFTER_FAILURES', function (v) {
      return v > (this.parent as { LOGIN_LOCK_AFTER_FAILURES: number }).LOGIN_LOCK_AFTER_FAILURES;
    }),
  LOGIN_LONG_LOCK_SECONDS: yup
    .number()
    .integer()
    .min(1)
    .max(7 * 86400)
    .default(900),
  // NIST SP 800-63B-4 3.2.2: no more than 100 consecutive failed attempts on one account.
  LOGIN_MAX_FAILURES_PER_HOUR: yup.number().integer().min(1).max(100).default(100),
  METRICS_TOKEN: yup.string().trim().optional(),
  ADMIN_EMAIL: yup.string().email().optional(),
  ADMIN_PASSWORD: yup.string().optional(),
});

export class ConfigError extends Error {}

const MIN_SECRET_BYTES = 32;
/**
 * 32 random bytes hold about 30 distinct values, and fewer than 16 is vanishingly unlikely;
 * a typed placeholder ("aaaa…", "abab…", "0000…") decodes to a handful.
 */
const MIN_DISTINCT_BYTES = 16;

/**
 * The key material a secret is written as: hex (`openssl rand -hex 32`), else base64 or
 * base64url (`openssl rand -base64 48`); null for any other text. Strength is judged on these
 * bytes: counting distinct characters refused one random hex secret in four (16 symbols, and a
 * 64-digit string lacks one of them that often).
 */
export const secretBytes = (s: string): Buffer | null => {
  if (/^(?:[0-9a-fA-F]{2})+$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(s) || /^[A-Za-z0-9_-]+={0,2}$/.test(s)) return Buffer.from(s, 'base64');
  return null;
};

/** A secret is strong when it carries at least 256 bits: 32+ bytes of random key material, as hex or base64. */
export const isStrongSecret = (s: string | undefined): s is string => {
  const bytes = typeof s === 'string' ? secretBytes(s) : null;
  return bytes !== null && bytes.length >= MIN_SECRET_BYTES && new Set(bytes).size >= MIN_DISTINCT_BYTES;
};

/** Why a given secret is refused, for the message that stops the start. */
const weakSecretReason = (name: string, s: string): string => {
  const bytes = secretBytes(s);
  if (bytes === null) {
    // A passphrase's strength cannot be judged from its characters; a generated key's can.
    return `${name} must be random bytes written as hex or base64 (a passphrase or other text is not accepted): use at least 32, e.g. \`openssl rand -base64 48\`.`;
  }
  return `${name} is too weak: it decodes to ${bytes.length} bytes${bytes.length >= MIN_SECRET_BYTES ? ' with too little variety' : ''}; use at least 32 random bytes (e.g. \`openssl rand -base64 48\`).`;
};

/** Where email links point when APP_BASE_URL is unset (development only): this listener. */
const listenerUrl = (host: string, port: number): string => {
  const name = ['', '0.0.0.0', '::', '[::]'].includes(host)
    ? 'localhost'
    : host.includes(':') && !host.startsWith('[')
      ? `[${host}]`
      : host;
  return `http://${name}:${port}`;
};

/**
 * Parses the environment. `secrets` supplies generated development secrets for whichever of
 * JWT_SECRET / TOKEN_SECRET is unset; production never falls back to them.
 */
export function loadConfig(env: Env = process.env, secrets?: { jwtSecret: string; tokenSecret: string }): Config {
  let v: yup.InferType<typeof schema>;
  try {
    v = schema.validateSync(env, { abortEarly: false, stripUnknown: true });
  } catch (e) {
    const err = e as yup.ValidationError;
    throw new ConfigError(`Invalid configuration:\n  ${err.errors.join('\n  ')}`);
  }
  const env_ = v.NODE_ENV as Config['env'];
  const pick = (name: 'JWT_SECRET' | 'TOKEN_SECRET', generated: string | undefined): string => {
    const given = v[name];
    if (given !== undefined && given !== '') {
      if (!isStrongSecret(given)) throw new ConfigError(weakSecretReason(name, given));
      return given;
    }
    if (env_ === 'production') {
      throw new ConfigError(`${name} is required in production: set it to at least 32 random bytes (e.g. \`openssl rand -base64 48\`).`);
    }
    if (!generated) throw new ConfigError(`${name} is not set and no development secret was generated.`);
    return generated;
  };
  const jwtSecret = pick('JWT_SECRET', secrets?.jwtSecret);
  const tokenSecret = pick('TOKEN_SECRET', secrets?.tokenSecret);
  if (!v.APP_BASE_URL && env_ === 'production') {
    throw new ConfigError(
      'APP_BASE_URL is required in production: the public URL of this service, which email links point to (e.g. https://id.example.com).',
    );
  }
  const appBaseUrl = (v.APP_BASE_URL || listenerUrl(v.HOST, v.PORT)).replace(/\/+$/, '');
  return {
    env: env_,
    port: v.PORT,
    host: v.HOST,
    databaseUrl: v.DATABASE_URL || null,
    eventStoreUrl: v.EVENTSTORE_URL || null,
    redisUrl: v.REDIS_URL,
    redisPrefix: v.REDIS_PREFIX,
    dataDir: v.DATA_DIR,
    appBaseUrl,
    resetPasswordUrl: v.RESET_PASSWORD_URL || `${appBaseUrl}/reset-password`,
    productName: v.PRODUCT_NAME,
    smtpUrl: v.SMTP_URL || null,
    mailFrom: v.MAIL_FROM,
    requireEmailVerification: bool(v.REQUIRE_EMAIL_VERIFICATION, true),
    bcryptCost: v.BCRYPT_COST,
    passwordHashNice: v.PASSWORD_HASH_NICE,
    jwt: {
      secret: jwtSecret,
      algorithm: v.JWT_ALGORITHM as Config['jwt']['algorithm'],
      issuer: v.JWT_ISSUER,
      audience: v.JWT_AUDIENCE,
      accessTtlSeconds: v.ACCESS_TOKEN_TTL,
    },
    tokenSecret,
    session: {
      maxPerUser: v.MAX_SESSIONS_PER_USER,
      absoluteTtlSeconds: v.SESSION_ABSOLUTE_TTL,
      idleTtlSeconds: v.SESSION_IDLE_TTL,
      refreshGraceSeconds: v.REFRESH_GRACE_SECONDS,
    },
    verificationTtlSeconds: v.VERIFICATION_TTL,
    resetTtlSeconds: v.RESET_TTL,
    readYourWritesTimeoutMs: v.READ_YOUR_WRITES_TIMEOUT_MS,
    projectionBatchSize: v.PROJECTION_BATCH_SIZE,
    dbPoolMax: v.DB_POOL_MAX,
    apiProcesses: v.API_PROCESSES,
    logLevel: v.LOG_LEVEL,
    logFormat: (v.LOG_FORMAT as LogFormat | undefined) ?? null,
    trustProxy: proxyHopsOf(v.TRUST_PROXY) > 0,
    proxyHops: proxyHopsOf(v.TRUST_PROXY),
    corsOrigins: originsOf(v.CORS_ORIGINS),
    rateLimits: {
      loginPerIp: parseRate(v.RATE_LIMIT_LOGIN_PER_IP)!,
      registerPerIp: parseRate(v.RATE_LIMIT_REGISTER_PER_IP)!,
      refreshPerIp: parseRate(v.RATE_LIMIT_REFRESH_PER_IP)!,
      emailPerIp: parseRate(v.RATE_LIMIT_EMAIL_PER_IP)!,
      emailPerAddress: parseRate(v.RATE_LIMIT_EMAIL_PER_ADDRESS)!,
      loginFailures: {
        lockAfter: v.LOGIN_LOCK_AFTER_FAILURES,
        lockSeconds: v.LOGIN_LOCK_SECONDS,
        longLockAfter: v.LOGIN_LONG_LOCK_AFTER_FAILURES,
        longLockSeconds: v.LOGIN_LONG_LOCK_SECONDS,
        maxPerHour: v.LOGIN_MAX_FAILURES_PER_HOUR,
      },
    },
    metricsToken: v.METRICS_TOKEN || null,
    adminEmail: v.ADMIN_EMAIL || null,
    adminPassword: v.ADMIN_PASSWORD || null,
  };
}
