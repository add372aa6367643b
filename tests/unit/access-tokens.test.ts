import { AccessTokens } from '../../src/infra/jwt';

const config = {
  secret: 'unit-test-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  algorithm: 'HS256' as const,
  issuer: 'iam-es',
  audience: 'iam-es',
  accessTtlSeconds: 1,
};

describe('access tokens verified once per process', () => {
  it('accepts a token on every use while it is current, and refuses it from the moment it expires, though its signature was checked before', async () => {
    const tokens = new AccessTokens(config);
    const token = tokens.sign({ sub: 'u1', sid: 's1', role: 'viewer', sv: 0 });
    for (let i = 0; i < 3; i++) expect(tokens.verify(token)).toMatchObject({ sub: 'u1', sid: 's1', role: 'viewer', sv: 0 });
    await new Promise((r) => setTimeout(r, 2100));
    expect(tokens.verify(token)).toBeNull();
  });

  it('a token changed by one character is checked again, not taken from what was verified', () => {
    const tokens = new AccessTokens(config);
    const token = tokens.sign({ sub: 'u1', sid: 's1', role: 'viewer', sv: 0 });
    expect(tokens.verify(token)).not.toBeNull();
    const [h, p, sig] = token.split('.');
    const forged = [
      h,
      Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' })).toString('base64url'),
      sig,
    ].join('.');
    expect(tokens.verify(forged)).toBeNull();
    expect(tokens.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
  });
});
