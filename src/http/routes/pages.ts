import { randomBytes } from 'node:crypto';
import { ApiRouter } from '../api-router';
import { HttpServices } from '../types';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * The page a reset link opens when RESET_PASSWORD_URL is not pointed at a page of your own:
 * a form that posts the new password to /api/auth/reset-password. The token stays in the URL
 * fragment-free query only long enough to be read by the script; nothing is rendered from it.
 */
export function pagesRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ tag: 'Pages', auth: 'public' });
  r.get(
    '/reset-password',
    {
      operationId: 'resetPasswordPage',
      summary: 'The built-in page a password reset link opens',
      description:
        'A form that posts the new password to `POST /api/auth/reset-password` (unless RESET_PASSWORD_URL points to a page of your own).',
      queryParams: [
        { name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'From the emailed link' },
        { name: 'email', in: 'query', required: false, schema: { type: 'string' }, description: 'From the emailed link' },
      ],
      ok: { status: 200, description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
    },
    (ctx) => {
      const nonce = randomBytes(16).toString('base64');
      ctx.set(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
      );
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'text/html; charset=utf-8';
      const product = escapeHtml(svc.config.productName);
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Reset your password · ${product}</title>
<style nonce="${nonce}">body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}input,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0 1rem}#msg{min-height:1.5rem}</style>
</head><body><h1>Choose a new password</h1>
<form id="f"><label>New password<input id="p" type="password" autocomplete="new-password" minlength="8" maxlength="128" required></label>
<label>Repeat it<input id="q" type="password" autocomplete="new-password" minlength="8" maxlength="128" required></label>
<button>Set password</button></form><p id="msg" role="status"></p>
<script nonce="${nonce}">
const q = new URLSearchParams(location.search);
const msg = document.getElementById('msg');
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const password = document.getElementById('p').value;
  if (password !== document.getElementById('q').value) { msg.textContent = 'The two passwords differ.'; return; }
  const res = await fetch('/api/auth/reset-password', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: q.get('token'), email: q.get('email'), password }) });
  const body = await res.json().catch(() => ({}));
  msg.textContent = res.ok ? 'Your password is set. You can sign in now.' : (body.errors && body.errors[0] ? body.errors[0].message : body.detail || 'That did not work.');
  if (res.ok) document.getElementById('f').remove();
});
</script></body></html>`;
    },
  );
  return r;
}
