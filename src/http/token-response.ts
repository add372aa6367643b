import { SignedIn, IssuedTokens } from '../commands/session/sessions';
import { Ctx, HttpServices } from './types';

/**
 * Keeps an answer out of every cache, the browser's included (RFC 9111 §5.2.2.5; `Pragma` for
 * HTTP/1.0 caches): a stored answer that carries a credential hands it to whoever reads it next.
 */
export const noStore = (ctx: Ctx): void => {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
};

function setAuthCookies(svc: HttpServices, ctx: Ctx, s: SignedIn): void {
  const secure = svc.config.env === 'production';
  // TLS usually ends at a proxy in front: mark the cookies Secure even when this hop is plain HTTP
  // (the cookies library would otherwise refuse to set them and the login would fail).
  if (secure) ctx.cookies.secure = true;
  ctx.cookies.set('access_token', s.tokens.accessToken, {
    httpOnly: true,
    secure,
    sameSite: 'lax',
    path: '/',
    maxAge: s.tokens.expiresIn * 1000,
  });
  ctx.cookies.set('refresh_token', s.tokens.refreshToken, {
    httpOnly: true,
    secure,
    sameSite: 'strict',
    path: '/api/auth',
    maxAge: svc.config.session.absoluteTtlSeconds * 1000,
  });
}

/**
 * The one way tokens get into an answer (sign-in, refresh, sign-up that signs in, password
 * change): sets them as httpOnly cookies, marks the answer uncacheable (RFC 6749 §5.1, RFC 9700)
 * and returns them for the body.
 */
export function tokensFor(svc: HttpServices, ctx: Ctx, s: SignedIn): IssuedTokens {
  noStore(ctx);
  setAuthCookies(svc, ctx, s);
  return s.tokens;
}
