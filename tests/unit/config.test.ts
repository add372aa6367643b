import { ConfigError, Env, isStrongSecret, loadConfig } from '../../src/config';

// 44 base64url characters: 33 bytes.
const STRONG_JWT = 'Jw7-kQ2_pL9xVb4mNc8RtZ1sYd6HfA3eGu5WoKi0TnXr';
const STRONG_TOKEN = 'Tk3_Zq8-Lm1VxNb7Pc2RsYd9HgF4eJu6WaKo0Ti5QnWe';
/** `openssl rand -hex 32` output without a single "7": refused one time in four by a distinct-characters rule. */
const HEX_WITHOUT_A_SEVEN = '3f9c0a1b5d2e8f4c6a0b9d3e1f5c2a8b4d6e0f9a3c5b1d8e2f4a6c0b9e3d5f1a';
const BASE_URL = 'https://id.example.com';
const GENERATED = {
  jwtSecret: 'generated-jwt-0123456789abcdefghijklmnopqrstuvwxyz',
  tokenSecret: 'generated-token-0123456789abcdefghijklmnopqrstuvwxyz',
};

const configError = (env: Env, secrets?: { jwtSecret: string; tokenSecret: string }): ConfigError => {
  try {
    loadConfig(env, secrets);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

describe('loadConfig', () => {
  it('has defaults for everything in development', () => {
    const c = loadConfig({}, GENERATED);
    expect(c).toEqual({
      env: 'development',
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: null,
      eventStoreUrl: null,
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'iam',
      dataDir: '.data',
      appBaseUrl: 'http://localhost:3000',
      resetPasswordUrl: 'http://localhost:3000/reset-password',
      productName: 'Identity',
      smtpUrl: null,
      mailFrom: 'Identity <no-reply@localhost>',
      requireEmailVerification: true,
      bcryptCost: 12,
      passwordHashNice: 10,
      jwt: { secret: GENERATED.jwtSecret, algorithm: 'HS256', issuer: 'iam-es', audience: 'iam-es', accessTtlSeconds: 900 },
      tokenSecret: GENERATED.tokenSecret,
      session: { maxPerUser: 5, absoluteTtlSeconds: 30 * 24 * 3600, idleTtlSeconds: 7 * 24 * 3600, refreshGraceSeconds: 10 },
      verificationTtlSeconds: 24 * 3600,
      resetTtlSeconds: 30 * 60,
      readYourWritesTimeoutMs: 5000,
      projectionBatchSize: 500,
      dbPoolMax: 10,
      apiProcesses: 1,
      logLevel: 'info',
      logFormat: null,
      metricsToken: null,
      trustProxy: false,
      proxyHops: 0,
      corsOrigins: [],
      rateLimits: {
        loginPerIp: { points: 30, durationSeconds: 60 },
        registerPerIp: { points: 10, durationSeconds: 3600 },
        refreshPerIp: { points: 60, durationSeconds: 60 },
        emailPerIp: { points: 20, durationSeconds: 3600 },
        emailPerAddress: { points: 5, durationSeconds: 3600 },
        loginFailures: { lockAfter: 5, lockSeconds: 60, longLockAfter: 10, longLockSeconds: 900, maxPerHour: 100 },
      },
      adminEmail: null,
      adminPassword: null,
    });
  });

  it('development uses the generated secrets passed in, unless secrets are set', () => {
    const generated = loadConfig({ NODE_ENV: 'development' }, GENERATED);
    expect(generated.jwt.secret).toBe(GENERATED.jwtSecret);
    expect(generated.tokenSecret).toBe(GENERATED.tokenSecret);
    const given = loadConfig({ NODE_ENV: 'development', JWT_SECRET: STRONG_JWT, TOKEN_SECRET: STRONG_TOKEN }, GENERATED);
    expect(given.jwt.secret).toBe(STRONG_JWT);
    expect(given.tokenSecret).toBe(STRONG_TOKEN);
  });

  it('development without secrets set or generated is a ConfigError', () => {
    expect(configError({ NODE_ENV: 'development' }).message).toMatch(/JWT_SECRET/);
  });

  it('production without JWT_SECRET is a ConfigError mentioning JWT_SECRET, even with generated secrets at hand', () => {
    expect(configError({ NODE_ENV: 'production', TOKEN_SECRET: STRONG_TOKEN }, GENERATED).message).toMatch(/JWT_SECRET/);
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: '', TOKEN_SECRET: STRONG_TOKEN }, GENERATED).message).toMatch(/JWT_SECRET/);
  });

  it('production without TOKEN_SECRET is a ConfigError mentioning TOKEN_SECRET', () => {
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: STRONG_JWT }, GENERATED).message).toMatch(/TOKEN_SECRET/);
  });

  it('production with strong secrets loads', () => {
    const c = loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_JWT, TOKEN_SECRET: STRONG_TOKEN, APP_BASE_URL: BASE_URL });
    expect(c.env).toBe('production');
    expect(c.jwt.secret).toBe(STRONG_JWT);
    expect(c.tokenSecret).toBe(STRONG_TOKEN);
  });

  it.each([
    ['short', 'short'],
    ['31 bytes', STRONG_JWT.slice(0, 31)],
    ['long but repetitive', 'ab'.repeat(40)],
  ])('a weak secret (%s) is a ConfigError, in any environment', (_label, weak) => {
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: weak, TOKEN_SECRET: STRONG_TOKEN, APP_BASE_URL: BASE_URL }).message).toMatch(
      /JWT_SECRET.*weak/,
    );
    expect(configError({ NODE_ENV: 'development', TOKEN_SECRET: weak }, GENERATED).message).toMatch(/TOKEN_SECRET.*weak/);
  });

  it('isStrongSecret wants 32+ bytes with some variety', () => {
    expect(isStrongSecret(STRONG_JWT)).toBe(true);
    expect(isStrongSecret(undefined)).toBe(false);
    expect(isStrongSecret('x'.repeat(64))).toBe(false);
  });

  it('judges a secret by the bytes it decodes to: a random hex secret lacking a digit is strong', () => {
    expect(HEX_WITHOUT_A_SEVEN).toHaveLength(64);
    expect(HEX_WITHOUT_A_SEVEN).not.toContain('7');
    expect(isStrongSecret(HEX_WITHOUT_A_SEVEN)).toBe(true);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: HEX_WITHOUT_A_SEVEN,
        TOKEN_SECRET: HEX_WITHOUT_A_SEVEN.toUpperCase(),
        APP_BASE_URL: BASE_URL,
      }).jwt.secret,
    ).toBe(HEX_WITHOUT_A_SEVEN);
    // As `openssl rand -base64 48` (with + and /) and as base64url, with or without padding.
    expect(isStrongSecret('q6Z0+Yx3/Vb9Lm2Nc8RtZ1sYd6HfA3eGu5WoKi0TnAe4Bv7Cw1Dx5Ey2Fz8Ga3Hb6Ic')).toBe(true);
    expect(isStrongSecret('q6Z0-Yx3_Vb9Lm2Nc8RtZ1sYd6HfA3eGu5WoKi0TnAe=')).toBe(true);
  });

  it('counts decoded bytes, not characters: 62 hex digits (31 bytes) are too few', () => {
    expect(isStrongSecret(HEX_WITHOUT_A_SEVEN.slice(2))).toBe(false);
    expect(configError({ NODE_ENV: 'development', JWT_SECRET: HEX_WITHOUT_A_SEVEN.slice(2) }, GENERATED).message).toMatch(
      /JWT_SECRET is too weak: it decodes to 31 bytes/,
    );
  });

  it('refuses a passphrase or other text that is neither hex nor base64, saying why', () => {
    const passphrase = 'correct horse battery staple, and then some more words to be long';
    expect(isStrongSecret(passphrase)).toBe(false);
    expect(configError({ NODE_ENV: 'development', TOKEN_SECRET: passphrase }, GENERATED).message).toMatch(
      /TOKEN_SECRET must be random bytes written as hex or base64/,
    );
  });

  it('in development the default APP_BASE_URL follows HOST and PORT', () => {
    expect(loadConfig({ PORT: '8080' }, GENERATED)).toMatchObject({
      appBaseUrl: 'http://localhost:8080',
      resetPasswordUrl: 'http://localhost:8080/reset-password',
    });
    expect(loadConfig({ HOST: '127.0.0.1', PORT: '4000' }, GENERATED).appBaseUrl).toBe('http://127.0.0.1:4000');
    expect(loadConfig({ HOST: '::', PORT: '4000' }, GENERATED).appBaseUrl).toBe('http://localhost:4000');
    expect(loadConfig({ HOST: '::1', PORT: '4000' }, GENERATED).appBaseUrl).toBe('http://[::1]:4000');
    expect(loadConfig({ HOST: 'dev.local', PORT: '4000', APP_BASE_URL: 'https://id.example.com' }, GENERATED).appBaseUrl).toBe(
      'https://id.example.com',
    );
  });

  it('production requires APP_BASE_URL: links in emails must not point at a guess', () => {
    expect(configError({ NODE_ENV: 'production', JWT_SECRET: STRONG_JWT, TOKEN_SECRET: STRONG_TOKEN, PORT: '8080' }).message).toMatch(
      /APP_BASE_URL is required in production/,
    );
  });

  it('invalid values are a ConfigError listing each of them', () => {
    const message = configError({ PORT: 'abc', APP_BASE_URL: 'notaurl' }, GENERATED).message;
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/APP_BASE_URL/);
  });

  it.each([
    ['PORT', '70000'],
    ['APP_BASE_URL', 'ftp://example.com'],
    ['NODE_ENV', 'staging'],
    ['JWT_ALGORITHM', 'RS256'],
    ['BCRYPT_COST', '3'],
    ['MAX_SESSIONS_PER_USER', '0'],
    ['REDIS_PREFIX', 'has space'],
    ['LOG_LEVEL', 'loud'],
    ['LOG_FORMAT', 'xml'],
    ['ADMIN_EMAIL', 'not-an-email'],
  ])('%s=%s is a ConfigError naming it', (name, value) => {
    expect(configError({ [name]: value }, GENERATED).message).toContain(name);
  });

  it('accepts APP_BASE_URL http://localhost:3000 and trims trailing slashes', () => {
    expect(loadConfig({ APP_BASE_URL: 'http://localhost:3000' }, GENERATED).appBaseUrl).toBe('http://localhost:3000');
    expect(loadConfig({ APP_BASE_URL: 'http://localhost:3000/' }, GENERATED).appBaseUrl).toBe('http://localhost:3000');
    expect(loadConfig({ APP_BASE_URL: 'https://id.example.com/auth//' }, GENERATED).appBaseUrl).toBe('https://id.example.com/auth');
  });

  it.each([
    ['false', false],
    ['0', false],
    ['no', false],
    ['true', true],
    ['1', true],
    ['TRUE', true],
    ['', true],
  ])('REQUIRE_EMAIL_VERIFICATION=%p parses to %p', (value, expected) => {
    expect(loadConfig({ REQUIRE_EMAIL_VERIFICATION: value }, GENERATED).requireEmailVerification).toBe(expected);
  });

  it.each(['maybe', 'ture', 'flase', '2'])(
    'REQUIRE_EMAIL_VERIFICATION=%p (not a boolean) is a ConfigError, not a silent false',
    (value) => {
      // A typo must not switch a security control off: fail at start like any other invalid value.
      expect(configError({ REQUIRE_EMAIL_VERIFICATION: value }, GENERATED).message).toContain('REQUIRE_EMAIL_VERIFICATION');
    },
  );

  it('LOG_FORMAT chooses json or pretty; unset, the terminal decides', () => {
    expect(loadConfig({ LOG_FORMAT: 'json' }, GENERATED).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, GENERATED).logFormat).toBe('pretty');
    expect(loadConfig({}, GENERATED).logFormat).toBeNull();
  });

  it('parses numbers and flags from strings', () => {
    const c = loadConfig(
      {
        PORT: '8080',
        MAX_SESSIONS_PER_USER: '3',
        REFRESH_GRACE_SECONDS: '0',
        TRUST_PROXY: 'yes',
        DATABASE_URL: ' postgres://db/x ',
        SMTP_URL: '',
      },
      GENERATED,
    );
    expect(c.port).toBe(8080);
    expect(c.session.maxPerUser).toBe(3);
    expect(c.session.refreshGraceSeconds).toBe(0);
    expect(c.trustProxy).toBe(true);
    expect(c.databaseUrl).toBe('postgres://db/x');
    expect(c.smtpUrl).toBeNull();
  });

  it('parses rate limits as <count>/<duration> with s, m, h or d', () => {
    const c = loadConfig(
      {
        RATE_LIMIT_LOGIN_PER_IP: '5/30s',
        RATE_LIMIT_REGISTER_PER_IP: '3 / 2h',
        RATE_LIMIT_REFRESH_PER_IP: '7/90',
        RATE_LIMIT_EMAIL_PER_ADDRESS: '2/1d',
      },
      GENERATED,
    );
    expect(c.rateLimits.loginPerIp).toEqual({ points: 5, durationSeconds: 30 });
    expect(c.rateLimits.registerPerIp).toEqual({ points: 3, durationSeconds: 7200 });
    expect(c.rateLimits.refreshPerIp).toEqual({ points: 7, durationSeconds: 90 });
    expect(c.rateLimits.emailPerAddress).toEqual({ points: 2, durationSeconds: 86400 });
  });

  it.each([
    ['RATE_LIMIT_LOGIN_PER_IP', '30'],
    ['RATE_LIMIT_LOGIN_PER_IP', '0/1m'],
    ['RATE_LIMIT_EMAIL_PER_IP', '10/1w'],
    ['LOGIN_MAX_FAILURES_PER_HOUR', '101'],
    ['LOGIN_LOCK_AFTER_FAILURES', '0'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', 'app.example.com'],
    ['TRUST_PROXY', '11'],
    ['TRUST_PROXY', 'sometimes'],
  ])('%s=%s is a ConfigError naming it', (name, value) => {
    expect(configError({ [name]: value }, GENERATED).message).toContain(name);
  });

  it('wants the long lockout to come after the short one', () => {
    expect(configError({ LOGIN_LOCK_AFTER_FAILURES: '10', LOGIN_LONG_LOCK_AFTER_FAILURES: '10' }, GENERATED).message).toContain(
      'LOGIN_LONG_LOCK_AFTER_FAILURES',
    );
  });

  it('reads CORS_ORIGINS as a list and TRUST_PROXY as a switch or a number of proxies', () => {
    const c = loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/', TRUST_PROXY: '2' }, GENERATED);
    expect(c.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(c).toMatchObject({ trustProxy: true, proxyHops: 2 });
    expect(loadConfig({ TRUST_PROXY: 'true' }, GENERATED)).toMatchObject({ trustProxy: true, proxyHops: 1 });
    expect(loadConfig({ TRUST_PROXY: '0' }, GENERATED)).toMatchObject({ trustProxy: false, proxyHops: 0 });
  });

  it('does not read process.env when given an env', () => {
    const before = process.env.PORT;
    process.env.PORT = 'abc';
    try {
      expect(loadConfig({}, GENERATED).port).toBe(3000);
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    }
  });
});
