import Router from '@koa/router';
import * as yup from 'yup';
import { createContent, deleteContent, updateContent } from '../../commands/content/content';
import { ContentActor } from '../../commands/content/decider';
import { RequestMeta } from '../../commands/context';
import { DomainError } from '../../errors';
import { UserId } from '../../events/user';
import { ContentWithAuthor, findLiveContent, liveContent, presentContent, PresentedContent } from '../../projections/content';
import { authenticate, requirePrincipal, requireRole } from '../auth';
import { paginate, parseList } from '../list';
import { AppState, caughtUp, Ctx, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TITLE = 200;
const MAX_BODY = 50_000;

const title = () => yup.string().trim().min(1, '${path} must not be empty').max(MAX_TITLE, `\${path} must be at most ${MAX_TITLE} characters`);
const body = () =>
  yup
    .string()
    .max(MAX_BODY, `\${path} must be at most ${MAX_BODY} characters`)
    .test('not-blank', '${path} must not be empty', (v) => v === undefined || v.trim().length > 0);

export const createContentSchema = yup.object({ title: title().required(), body: body().required() });

export const updateContentSchema = yup
  .object({ title: title().optional(), body: body().optional() })
  .test('something', 'send title, body or both', function (v) {
    return v.title !== undefined || v.body !== undefined ? true : this.createError({ path: 'title', message: 'send title, body or both' });
  });

export const SORTS = { createdAt: 'c.created_at', updatedAt: 'c.updated_at', title: 'c.title' };

export const listFilters = yup.object({
  q: yup.string().trim().max(MAX_TITLE).optional(),
  authorId: yup.string().trim().matches(UUID, '${path} must be a UUID').optional(),
});

/** The caller as the content rules see them: an API key acts with its owner's id and role. */
const actorOf = (ctx: Ctx): ContentActor => {
  const a = requirePrincipal(ctx);
  return { actorId: a.sub as UserId, actorRole: a.role };
};

/** Events written through a key say which key, for the audit trail. */
const metaOf = (ctx: Ctx): RequestMeta => {
  const a = requirePrincipal(ctx);
  return a.via === 'api-key' ? { ...ctx.state.meta, apiKeyId: a.keyId } : ctx.state.meta;
};

const idParam = (ctx: Ctx): string => {
  const id = ctx.params.id;
  if (!UUID.test(id)) throw new DomainError('NOT_FOUND', 'Content not found');
  return id;
};

/** `%`, `_` and `\` in a search are literal characters, not patterns. */
const likeEscaped = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Content CRUD (the RBAC seed): every signed-in role reads; admins and editors write; soft delete. */
export function contentRouter(svc: HttpServices): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/api/content' });
  r.use(authenticate(svc, { apiKeys: 'write' }));

  const present = async (id: string): Promise<PresentedContent> => {
    const c = await findLiveContent(svc.knex, id);
    if (!c) throw new DomainError('NOT_FOUND', 'Content not found');
    return presentContent(c);
  };

  r.get('/', async (ctx) => {
    const q = parseList(ctx.query, SORTS, '-createdAt', listFilters, 'c.id');
    const base = liveContent(svc.knex);
    if (q.filters.q) base.andWhere('c.title', 'ilike', `%${likeEscaped(q.filters.q)}%`);
    if (q.filters.authorId) base.andWhere('c.author_id', q.filters.authorId);
    ctx.body = await paginate<ContentWithAuthor, PresentedContent>(base, q, presentContent);
  });

  r.get('/:id', async (ctx) => {
    ctx.body = await present(idParam(ctx));
  });

  r.post('/', requireRole('admin', 'editor'), async (ctx) => {
    const b = validate(createContentSchema, bodyOf(ctx));
    const { id, position } = await createContent(svc.cmd, actorOf(ctx), { title: b.title, body: b.body }, metaOf(ctx));
    await caughtUp(svc, position);
    ctx.status = 201;
    ctx.set('Location', `/api/content/${id}`);
    ctx.body = await present(id);
  });

  r.put('/:id', async (ctx) => {
    const id = idParam(ctx);
    const b = validate(updateContentSchema, bodyOf(ctx));
    await caughtUp(svc, await updateContent(svc.cmd, id, actorOf(ctx), { title: b.title, body: b.body }, metaOf(ctx)));
    ctx.body = await present(id);
  });

  r.delete('/:id', async (ctx) => {
    const id = idParam(ctx);
    await caughtUp(svc, await deleteContent(svc.cmd, id, actorOf(ctx), metaOf(ctx)));
    ctx.status = 204;
  });

  return r;
}
