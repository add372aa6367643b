import { accountLinkToken, deriveOneTimeToken } from '../../commands/tokens';
import { EmailJob } from '../queues';
import { Mail } from '../mailer';

export interface TemplateContext {
  productName: string;
  appBaseUrl: string;
  resetPasswordUrl: string;
  tokenSecret: string;
}

/** "in 24 hours" / "in 30 minutes", from the link's own expiry, relative to when it is sent. */
export const expiresIn = (expiresAt: string | undefined, now: Date = new Date()): string => {
  if (!expiresAt) return 'soon';
  const minutes = Math.max(1, Math.round((Date.parse(expiresAt) - now.getTime()) / 60000));
  return minutes >= 120 ? `in ${Math.round(minutes / 60)} hours` : `in ${minutes} minutes`;
};

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const layout = (ctx: TemplateContext, title: string, paragraphs: string[], action?: { label: string; url: string }) => {
  const text = [title, '', ...paragraphs, ...(action ? ['', `${action.label}: ${action.url}`] : []), '', `— ${ctx.productName}`].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif;max-width:560px;margin:auto">
<h2>${escapeHtml(title)}</h2>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${action ? `<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p><p style="color:#666;font-size:12px">${escapeHtml(action.url)}</p>` : ''}
<p style="color:#666">— ${escapeHtml(ctx.productName)}</p></body></html>`;
  return { text, html };
};

const withParams = (base: string, params: Record<string, string>): string =>
  `${base}${base.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;

const link = (ctx: TemplateContext, path: string, params: Record<string, string>): string => withParams(`${ctx.appBaseUrl}${path}`, params);

/** Renders one email. Links are built from APP_BASE_URL, never from a request's Host. */
export function renderEmail(job: EmailJob, ctx: TemplateContext): Mail {
  const hello = job.name ? `Hello ${job.name},` : 'Hello,';
  const token = (purpose: 'verify-email' | 'reset-password' | 'change-email') =>
    deriveOneTimeToken(ctx.tokenSecret, purpose, job.tokenId ?? '');
  const mail = (subject: string, body: { text: string; html: string }): Mail => ({ to: job.to, subject, ...body });
  switch (job.kind) {
    case 'verify-email':
      return mail(
        `Verify your email for ${ctx.productName}`,
        layout(
          ctx,
          'Confirm your email address',
          [hello, `Follow the link to verify your address. It works once and expires ${expiresIn(job.expiresAt)}.`],
          {
            label: 'Verify email',
            url: link(ctx, '/api/auth/verify-email', { token: token('verify-email'), email: job.to }),
          },
        ),
      );
    case 'already-registered':
      return mail(
        `Someone tried to sign up to ${ctx.productName} with your email`,
        layout(ctx, 'You already have an account', [
          hello,
          'Someone (maybe you) tried to create an account with this address, which already has one.',
          'If it was you, sign in, or reset your password if you forgot it. Otherwise you can ignore this email.',
        ]),
      );
    case 'reset-password':
      return mail(
        `Reset your ${ctx.productName} password`,
        layout(
          ctx,
          'Reset your password',
          [
            hello,
            `Follow the link to choose a new password. It works once and expires ${expiresIn(job.expiresAt)}. If you did not ask for this, ignore this email.`,
          ],
          {
            label: 'Reset password',
            url: withParams(ctx.resetPasswordUrl, { token: token('reset-password'), email: job.to }),
          },
        ),
      );
    case 'password-changed':
      return mail(
        `Your ${ctx.productName} password was changed`,
        layout(ctx, 'Your password was changed', [
          hello,
          'Your password was just changed and your other sessions were signed out.',
          'If this was not you, reset your password now.',
        ]),
      );
    case 'email-change-new':
      return mail(
        `Confirm your new email for ${ctx.productName}`,
        layout(
          ctx,
          'Confirm your new email address',
          [hello, "Follow the link to make this your account's address. Until then the old one stays in use."],
          {
            label: 'Confirm new email',
            // Jobs queued before links named their account carry no userId: their address was claimed when asked for.
            url: link(ctx, '/api/auth/verify-email', {
              token: job.userId ? accountLinkToken(job.userId, token('change-email')) : token('change-email'),
              email: job.to,
            }),
          },
        ),
      );
    case 'email-change-old':
      return mail(
        `Your ${ctx.productName} email is being changed`,
        layout(ctx, 'A change of email address was requested', [
          hello,
          `A request was made to change your account's email to ${job.newEmail ?? 'a new address'}. It takes effect once confirmed from that address.`,
          'If this was not you, change your password now.',
        ]),
      );
    case 'email-in-use':
      return mail(
        `Someone tried to use your email for another ${ctx.productName} account`,
        layout(ctx, 'Your address is already in use', [
          hello,
          'Someone (maybe you) asked to move another account to this address, which already belongs to your account. Nothing was changed.',
          'If it was you and you meant to merge accounts, sign in to this one instead. Otherwise you can ignore this email.',
        ]),
      );
    case 'account-deactivated':
      return mail(
        `Your ${ctx.productName} account was deactivated`,
        layout(ctx, 'Your account was deactivated', [
          hello,
          'Your account has been deactivated and all its sessions ended. Contact an administrator to restore it.',
        ]),
      );
  }
}
