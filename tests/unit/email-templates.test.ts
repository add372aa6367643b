import { deriveOneTimeToken, parseAccountLinkToken, TokenPurpose } from '../../src/commands/tokens';
import { renderEmail, TemplateContext } from '../../src/workers/emails/templates';
import { EmailJob, EmailKind } from '../../src/workers/queues';

const ctx: TemplateContext = {
  productName: 'Acme ID',
  appBaseUrl: 'https://id.example.test',
  resetPasswordUrl: 'https://id.example.test/reset-password',
  tokenSecret: 'template-test-secret-0123456789abcdefghijkl',
};
const TOKEN_ID = '9d2b1c3e-7a4f-4e21-8b5d-0c6f2a1e3b4d';
const TO = 'alice+test@example.com';
const USER_ID = '5b0c7a7e-2f4d-4f7e-9a51-3d2e1c0b9a88';

const jobs: Record<EmailKind, EmailJob> = {
  'verify-email': { kind: 'verify-email', to: TO, name: 'Alice', tokenId: TOKEN_ID },
  'already-registered': { kind: 'already-registered', to: TO, name: 'Alice' },
  'reset-password': { kind: 'reset-password', to: TO, name: 'Alice', tokenId: TOKEN_ID },
  'password-changed': { kind: 'password-changed', to: TO, name: 'Alice' },
  'email-change-new': { kind: 'email-change-new', to: TO, name: 'Alice', tokenId: TOKEN_ID, userId: USER_ID },
  'email-change-old': { kind: 'email-change-old', to: 'alice@old.example.com', name: 'Alice', newEmail: TO },
  'email-in-use': { kind: 'email-in-use', to: TO, name: 'Alice' },
  'account-deactivated': { kind: 'account-deactivated', to: TO, name: 'Alice' },
};

/** The single link a mail's text carries, parsed. */
const linkOf = (text: string): URL => {
  const links = text.match(/https?:\/\/\S+/g) ?? [];
  expect(links).toHaveLength(1);
  return new URL(links[0] ?? '');
};

describe('renderEmail', () => {
  it.each(Object.keys(jobs) as EmailKind[])('%s renders a subject, text and html to the recipient', (kind) => {
    const mail = renderEmail(jobs[kind], ctx);
    expect(mail.to).toBe(jobs[kind].to);
    expect(mail.subject).toContain('Acme ID');
    expect(mail.text).toContain('Hello Alice,');
    expect(mail.text).toContain('Acme ID');
    expect(mail.html).toMatch(/^<!doctype html>/);
    expect(mail.html).toContain('Hello Alice,');
    expect(mail.html).toContain('</html>');
  });

  it.each<[EmailKind, string, TokenPurpose]>([
    ['verify-email', '/api/auth/verify-email', 'verify-email'],
    ['email-change-new', '/api/auth/verify-email', 'change-email'],
    ['reset-password', '/reset-password', 'reset-password'],
  ])('%s links to the configured appBaseUrl with the derived token and the email', (kind, path, purpose) => {
    const mail = renderEmail(jobs[kind], ctx);
    const url = linkOf(mail.text);
    expect(url.href.startsWith(`${ctx.appBaseUrl}${path}?`)).toBe(true);
    const token = url.searchParams.get('token') ?? '';
    // A change-of-email link names its account: its new address is not claimed yet, so nothing else leads there.
    const linked = parseAccountLinkToken(token);
    expect(linked?.userId ?? null).toBe(kind === 'email-change-new' ? USER_ID : null);
    expect(linked?.token ?? token).toBe(deriveOneTimeToken(ctx.tokenSecret, purpose, TOKEN_ID));
    expect(url.searchParams.get('email')).toBe(TO);
    // The HTML carries the same link (attribute-escaped).
    expect(mail.html).toContain(`href="${url.href.replace(/&/g, '&amp;')}"`);
  });

  it('links follow appBaseUrl, including a path prefix', () => {
    const url = linkOf(renderEmail(jobs['verify-email'], { ...ctx, appBaseUrl: 'https://example.org/identity' }).text);
    expect(url.origin + url.pathname).toBe('https://example.org/identity/api/auth/verify-email');
  });

  it('mails without an action carry no link', () => {
    for (const kind of ['already-registered', 'password-changed', 'email-change-old', 'email-in-use', 'account-deactivated'] as const) {
      expect(renderEmail(jobs[kind], ctx).text).not.toMatch(/https?:\/\//);
    }
  });

  it('the notice to the old address names the new one', () => {
    const mail = renderEmail(jobs['email-change-old'], ctx);
    expect(mail.text).toContain(TO);
    expect(mail.html).toContain(TO);
  });

  it('greets without a name when there is none', () => {
    const mail = renderEmail({ ...jobs['password-changed'], name: null }, ctx);
    expect(mail.text).toContain('Hello,');
    expect(mail.text).not.toContain('null');
  });

  it('escapes HTML in a name like <script>', () => {
    const name = '<script>alert("x")</script> & \'co\'';
    const mail = renderEmail({ ...jobs['verify-email'], name }, ctx);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;');
    expect(mail.text).toContain(`Hello ${name},`);
  });

  it('escapes HTML in the product name and the new email', () => {
    const mail = renderEmail(
      { ...jobs['email-change-old'], newEmail: '"><img src=x>@example.com' },
      { ...ctx, productName: '<b>Acme</b>' },
    );
    expect(mail.html).not.toContain('<img');
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).toContain('&lt;b&gt;Acme&lt;/b&gt;');
  });
});
