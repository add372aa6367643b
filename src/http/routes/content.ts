import * as yup from 'yup';
import { createContent, deleteContent, updateContent } from '../../commands/content/content';
import { ContentActor } from '../../commands/content/decider';
import { RequestMeta } from '../../commands/context';
import { DomainError } from '../../errors';
import { UserId } from '../../events/user';
import { ContentWithAuthor, findLiveContent, liveContent, presentContent, PresentedContent } from '../../projections/content';
import { ApiRouter } from '../api-router';
import { authenticate, requirePrincipal, requireRole } from '../auth';
import { listQuerySchema, paginate, parseList } from '../list';
import { caughtUp, Ctx, HttpServices } from '../types';
import { bodyOf, validate } from '../validate';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TITLE = 200;
const MAX_BODY = 50_000;

const title = () =>
  yup.string().trim().min(1, '${path} must not be empty').max(MAX_TITLE, `\${path} must be at most ${MAX_TITLE} characters`);
const body = () =>
  yup
    .string()
    .max(MAX_BODY, `\${path} must be at most ${MAX_BODY} characters`)
    .test('not-blank', '${path} must not be empty', (v) => v === undefined || v.trim().length > 0);

const createContentSchema = yup.object({ title: title().required(), body: body().required() });

const updateContentSchema = yup
  .object({ title: title().optional(), body: body().optional() })
  .test('something', 'send title, body or both', function (v) {
    return v.title !== undefined || v.body !== undefined ? true : this.createError({ path: 'title', message: 'send title, body or both' });
  });

const SORTS = { createdAt: 'c.created_at', updatedAt: 'c.updated_at', title: 'c.title' };

const listFilters = yup.object({
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
export function contentRouter(svc: HttpServices): ApiRouter {
  const r = new ApiRouter({ prefix: '/api/content', tag: 'Content', auth: 'session-or-key' });
  r.use(authenticate(svc, { apiKeys: 'write' }));

  const present = async (id: string): Promise<PresentedContent> => {
    const c = await findLiveContent(svc.knex, id);
    if (!c) throw new DomainError('NOT_FOUND', 'Content not found');
    return presentContent(c);
  };

  r.get(
    '/',
    {
      operationId: 'listContent',
      summary: 'List content',
      query: listQuerySchema(SORTS, listFilters),
      ok: { status: 200, description: 'A page of content', schema: 'ContentPage' },
    },
    async (ctx) => {
      const q = parseList(ctx.query, SORTS, '-createdAt', listFilters, 'c.id');
      const base = liveContent(svc.knex);
      if (q.filters.q) base.andWhere('c.title', 'ilike', `%${likeEscaped(q.filters.q)}%`);
      if (q.filters.authorId) base.andWhere('c.author_id', q.filters.authorId);
      ctx.body = await paginate<ContentWithAuthor, PresentedContent>(base, q, presentContent);
    },
  );

  r.get(
    '/:id',
    {
      operationId: 'getContent',
      summary: 'One piece of content',
      ok: { status: 200, description: 'The content', schema: 'Content' },
      errors: { 404: 'No such content' },
    },
    async (ctx) => {
      ctx.body = await present(idParam(ctx));
    },
  );

  r.post(
    '/',
    {
      operationId: 'createContent',
      summary: 'Create content',
      roles: ['admin', 'editor'],
      body: { schema: createContentSchema, example: { title: 'Hello', body: 'The first post.' } },
      ok: {
        status: 201,
        description: 'Created',
        schema: 'Content',
        headers: { Location: { description: 'The URL of the new content', required: true, schema: { type: 'string' } } },
      },
    },
    requireRole('admin', 'editor'),
    async (ctx) => {
      const b = validate(createContentSchema, bodyOf(ctx));
      const { id, position } = await createContent(svc.cmd, actorOf(ctx), { title: b.title, body: b.body }, metaOf(ctx));
      await caughtUp(svc, position);
      ctx.status = 201;
      ctx.set('Location', `/api/content/${id}`);
      ctx.body = await present(id);
    },
  );

  r.put(
    '/:id',
    {
      operationId: 'updateContent',
      summary: 'Update content',
      description: 'Admins: all content; editors: their own only.',
      body: { schema: updateContentSchema, example: { title: 'Hello again' } },
      ok: { status: 200, description: 'Updated', schema: 'Content' },
      errors: { 403: 'Viewers cannot change content; editors only their own', 404: 'No such content' },
    },
    async (ctx) => {
      const id = idParam(ctx);
      const b = validate(updateContentSchema, bodyOf(ctx));
      await caughtUp(svc, await updateContent(svc.cmd, id, actorOf(ctx), { title: b.title, body: b.body }, metaOf(ctx)));
      ctx.body = await present(id);
    },
  );

  r.delete(
    '/:id',
    {
      operationId: 'deleteContent',
      summary: 'Delete content (soft delete)',
      description: 'Admins: all content; editors: their own only.',
      ok: { status: 204, description: 'Deleted' },
      errors: { 403: 'Viewers cannot change content; editors only their own', 404: 'No such content' },
    },
    async (ctx) => {
      const id = idParam(ctx);
      await caughtUp(svc, await deleteContent(svc.cmd, id, actorOf(ctx), metaOf(ctx)));
      ctx.status = 204;
    },
  );

  return r;
}
